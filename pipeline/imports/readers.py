"""Stream rows out of CSV (UTF-8 with or without BOM, or Excel's Windows-1252 with `;`) and XLSX.

Nothing here loads a whole file: CSV is decoded and split as it is read, XLSX through openpyxl's
read-only mode. Each row comes with its line number in the file (the header is line 1).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

CHUNK = 1 << 20
DELIMITERS = (";", ",", "\t", "|")


class FileError(Exception):
    """The file as a whole cannot be read (encoding, format, header)."""


@dataclass
class Table:
    """The header and a one-shot iterator of (line number, cells) for the rows after it."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    encoding: str = ""
    delimiter: str = ""
    # How much of the file has been read, 0..1 (for progress bars).
    fraction: Callable[[], float] = lambda: 0.0


def detect_format(name: str) -> str:
    return "xlsx" if str(name).lower().endswith((".xlsx", ".xlsm")) else "csv"


def detect_encoding(path: Path) -> str:
    """`utf-8-sig` with a BOM; `utf-8` when every byte decodes as UTF-8; otherwise `cp1252`
    (what Excel on Windows saves as "CSV (semicolon delimited)")."""
    with open(path, "rb") as handle:
        if handle.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line most (`;` wins a tie, as Swedish Excel)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(path: Path, *, encoding: str = "", delimiter: str = "") -> Table:
    encoding = encoding or detect_encoding(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise FileError(_("Unknown encoding “%(encoding)s”.") % {"encoding": encoding}) from None
    handle: IO[str] = open(path, encoding=encoding, newline="")  # noqa: SIM115 (closed by rows)
    try:
        first = handle.readline()
    except UnicodeDecodeError as error:
        handle.close()
        raise FileError(
            _("The file is not in %(encoding)s: %(error)s") % {"encoding": encoding, "error": error}
        ) from None
    if encoding == "utf-8" and first.startswith("\ufeff"):
        first = first[1:]
    delimiter = delimiter or sniff_delimiter(first)
    header = next(csv.reader([first], delimiter=delimiter), [])
    header = [name.strip() for name in header]
    reader = csv.reader(handle, delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            while True:
                # A row is reported at the line it starts on (a quoted cell may span lines);
                # + 1 for the header line read apart.
                line = reader.line_num + 2
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError as error:
                    raise FileError(
                        _("The file is not in %(encoding)s near line %(line)s: %(error)s")
                        % {"encoding": encoding, "line": line, "error": error}
                    ) from None
                except csv.Error as error:
                    raise FileError(
                        _("Line %(line)s cannot be read as CSV: %(error)s")
                        % {"line": line, "error": error}
                    ) from None
                if cells and any(cells):
                    yield line, cells
        finally:
            handle.close()

    size = max(path.stat().st_size, 1)

    def fraction() -> float:
        try:
            return min(handle.buffer.tell() / size, 1.0)
        except (ValueError, OSError):  # closed: all read
            return 1.0

    return Table(
        header=header, rows=rows(), encoding=encoding, delimiter=delimiter, fraction=fraction
    )


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV would hold (dates ISO, numbers with a decimal point)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    return str(value)


def read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds (zip, xml, key errors)
        raise FileError(
            _("The file cannot be read as XLSX: %(error)s") % {"error": error}
        ) from None
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    first = next(values, None)
    if first is None:
        workbook.close()
        return Table(header=[], rows=iter(()))
    header = [_cell_text(v).strip() for v in first]
    while header and not header[-1]:
        header.pop()

    total = max((sheet.max_row or 0) - 1, 1)
    done = [0]

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for line, row in enumerate(values, start=2):
                done[0] = line - 1
                cells = [_cell_text(v) for v in row[: len(header)]]
                if any(cells):
                    yield line, cells
        finally:
            workbook.close()

    return Table(header=header, rows=rows(), fraction=lambda: min(done[0] / total, 1.0))


def read_table(path: Path, *, fmt: str = "", encoding: str = "", delimiter: str = "") -> Table:
    fmt = fmt or detect_format(path)
    if fmt == "xlsx":
        return read_xlsx(path)
    if fmt != "csv":
        raise FileError(_("Unknown format “%(format)s”: use csv or xlsx.") % {"format": fmt})
    return read_csv(path, encoding=encoding, delimiter=delimiter)
