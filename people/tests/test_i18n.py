"""Swedish is the site's language: pages, model labels and KPI names, and the catalogue itself.

The catalogue tests read `locale/sv/LC_MESSAGES/django.po` by hand (no polib) and check that the
committed `django.mo` holds exactly the same messages, so a forgotten `compilemessages` fails here
instead of silently showing English. Refresh both with:

    DEBUG=1 .venv/bin/python manage.py makemessages -l sv --ignore=.venv --ignore=var \
        --ignore=staticfiles --ignore=bench --no-obsolete
    DEBUG=1 .venv/bin/python manage.py compilemessages -l sv --ignore=.venv
"""

from __future__ import annotations

import gettext
import re
import struct
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.utils import translation

from kpis.registry import REGISTRY
from people.models import User
from people.tests.factories import UserFactory
from pipeline.models import Opportunity

LOGIN_URL = "/accounts/login/"
CATALOGUE_DIR = settings.BASE_DIR / "locale" / "sv" / "LC_MESSAGES"
PO_PATH = CATALOGUE_DIR / "django.po"
MO_PATH = CATALOGUE_DIR / "django.mo"


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_login_page_is_swedish_for_a_swedish_browser(client):
    response = client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "sv"
    html = response.content.decode()
    assert '<html lang="sv">' in html
    assert "Logga in" in html
    assert "Användarnamn" in html
    assert "Lösenord" in html
    assert "Sign in" not in html


@pytest.mark.django_db
def test_login_page_is_english_for_an_english_browser(client):
    response = client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "en"
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "Logga in" not in html


@pytest.mark.django_db
def test_language_switcher_overrides_the_browser_language(client):
    # The test client skips CSRF checks, so the switcher's form posts as a browser would.
    response = client.post("/i18n/setlang/", {"language": "en", "next": LOGIN_URL})
    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    # The chosen language wins over the browser's Accept-Language.
    html = client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Sign in" in html
    assert "Logga in" not in html

    client.post("/i18n/setlang/", {"language": "sv", "next": LOGIN_URL})
    html = client.get(LOGIN_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Logga in" in html


@pytest.mark.django_db
def test_home_page_is_swedish_for_a_signed_in_rep(client):
    rep = UserFactory(first_name="Anna", role=User.Role.SDR)
    client.force_login(rep)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Min dag" in html
    assert "Hej Anna" in html
    assert "Säljutvecklare (SDR)" in html
    assert "Logga ut" in html
    assert "Samtal" in html  # The activity kinds counted today.


# ---------------------------------------------------------------------------
# Labels in code
# ---------------------------------------------------------------------------
def test_model_labels_are_swedish():
    with translation.override("sv"):
        assert str(Opportunity._meta.verbose_name) == "affärsmöjlighet"
        assert str(Opportunity._meta.verbose_name_plural) == "affärsmöjligheter"
        assert str(Opportunity._meta.get_field("stage").verbose_name) == "steg"
        assert str(User.Role.AM.label) == "Kundansvarig (AM)"
        assert str(User.Role.MANAGER.label) == "Säljchef"
    with translation.override("en"):
        assert str(Opportunity._meta.verbose_name) == "opportunity"


def test_kpi_names_are_swedish():
    with translation.override("sv"):
        assert str(REGISTRY["win_rate"].name) == "Vinstgrad"
        assert str(REGISTRY["pipeline_value"].name) == "Pipelinevärde"
        assert str(REGISTRY["meetings_booked"].name) == "Bokade möten"
        assert str(REGISTRY["quota_attainment"].name) == "Måluppfyllelse"
    with translation.override("en"):
        assert str(REGISTRY["win_rate"].name) == "Win rate"


def test_plural_messages_follow_the_count():
    message = "%(count)d activity was cancelled."
    plural = "%(count)d activities were cancelled."
    with translation.override("sv"):
        assert translation.ngettext(message, plural, 1) % {"count": 1} == "1 aktivitet ställdes in."
        assert translation.ngettext(message, plural, 3) % {"count": 3} == (
            "3 aktiviteter ställdes in."
        )


# ---------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------
@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file (obsolete `#~` entries are ignored); the header has msgid ""."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int | None] | None = None  # The keyword continuation lines extend.

    def finish() -> None:
        nonlocal entry, target
        if entry.msgstr:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            if entry.msgstr:  # A new entry without a blank line before it.
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert target is not None, f"django.po:{number}: stray string"
            _append(entry, target, _unquote(_STRING.fullmatch(line).group(1)))
        else:
            match = _KEYWORD.match(line)
            assert match, f"django.po:{number}: cannot parse {line!r}"
            keyword, index, quoted = match.groups()
            if keyword in ("msgctxt", "msgid") and entry.msgstr:
                finish()
            base = keyword.split("[")[0]
            target = (base, int(index) if index is not None else (0 if base == "msgstr" else None))
            _append(entry, target, _unquote(_STRING.fullmatch(quoted).group(1)))
    finish()
    return entries


def _append(entry: Entry, target: tuple[str, int | None], text: str) -> None:
    keyword, index = target
    if keyword == "msgstr":
        entry.msgstr[index] = entry.msgstr.get(index, "") + text
    else:
        setattr(entry, keyword, (getattr(entry, keyword) or "") + text)


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


def _messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid]


def test_po_header_is_swedish_utf8_with_two_plural_forms(po_entries):
    header = next(e for e in po_entries if not e.msgid)
    assert "fuzzy" not in header.flags
    fields = dict(line.split(": ", 1) for line in header.msgstr[0].splitlines() if ": " in line)
    assert fields["Language"] == "sv"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == "nplurals=2; plural=(n != 1);"


def test_po_has_no_untranslated_or_fuzzy_messages(po_entries):
    messages = _messages(po_entries)
    assert len(messages) > 300  # Parsed the real catalogue, not an empty one.
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    untranslated = [
        e.msgid
        for e in messages
        if not all(e.msgstr.values()) or len(e.msgstr) != (2 if e.msgid_plural else 1)
    ]
    assert fuzzy == []
    assert untranslated == []


_PLACEHOLDER = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[sdifr]|%[sdif]|\{[^{}]*\}")


def test_translations_keep_the_placeholders(po_entries):
    wrong = []
    for entry in _messages(po_entries):
        for index, msgstr in entry.msgstr.items():
            source = entry.msgid_plural if index and entry.msgid_plural else entry.msgid
            if sorted(_PLACEHOLDER.findall(source)) != sorted(_PLACEHOLDER.findall(msgstr)):
                wrong.append((entry.msgid, msgstr))
    assert wrong == []


def _mo_message_count(data: bytes) -> int:
    """The number of messages in a GNU .mo file (header included), from its fixed header."""
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _magic, _revision, count = struct.unpack(order + "3I", data[:12])
    return count


def test_mo_is_compiled_from_the_current_po(po_entries):
    """The committed .mo holds every message of the .po, with the same translation, and no more.

    Modification times mean nothing in a fresh clone, so compare the contents instead.
    """
    data = MO_PATH.read_bytes()
    with MO_PATH.open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)
    assert catalogue.info()["language"] == "sv"

    stale = []
    for e in _messages(po_entries):
        if e.msgid_plural is None:
            got = (
                catalogue.pgettext(e.msgctxt, e.msgid)
                if e.msgctxt is not None
                else catalogue.gettext(e.msgid)
            )
            if got != e.msgstr[0]:
                stale.append((e.msgid, e.msgstr[0], got))
            continue
        for n, index in ((1, 0), (2, 1)):
            got = (
                catalogue.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
                if e.msgctxt is not None
                else catalogue.ngettext(e.msgid, e.msgid_plural, n)
            )
            if got != e.msgstr[index]:
                stale.append((e.msgid, e.msgstr[index], got))
    assert stale == [], "django.mo is out of date: run compilemessages"
    # Messages removed from the .po must be gone from the .mo too (+1: the header).
    assert _mo_message_count(data) == len(_messages(po_entries)) + 1


def test_parse_po_reads_multiline_plural_context_and_fuzzy_entries():
    text = (
        'msgid ""\nmsgstr ""\n"Language: sv\\n"\n\n'
        '#, fuzzy, python-format\nmsgctxt "ctx"\nmsgid ""\n"a %(n)s "\n"b"\nmsgstr "x"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "en"\nmsgstr[1] ""\n\n'
        '#~ msgid "old"\n#~ msgstr "gammal"\n'
    )
    header, multiline, plural = parse_po(text)
    assert header.msgstr == {0: "Language: sv\n"}
    assert (multiline.msgctxt, multiline.msgid, multiline.msgstr) == ("ctx", "a %(n)s b", {0: "x"})
    assert multiline.flags == {"fuzzy", "python-format"}
    assert (plural.msgid_plural, plural.msgstr) == ("many", {0: "en", 1: ""})


@pytest.mark.django_db
def test_seeded_stage_names_follow_the_language():
    from pipeline.models import Stage

    stage = Stage.objects.get(slug="proposal")
    with translation.override("sv"):
        assert str(stage) == "Offert"
    with translation.override("en"):
        assert str(stage) == "Proposal"
