"""The demo's vocabulary and volumes: names, companies, products, rates and salaries."""

from __future__ import annotations

import datetime as dt

from pipeline.models import (
    LeadSource,
)

DEMO_PREFIX = "demo-"
DEMO_PASSWORD = "saljsite-demo"  # noqa: S105 - published on purpose: it is the demo's login.
DEMO_EMAIL_DOMAIN = "demo.saljsite.se"
DEMO_LOGINS = ("demo-sdr", "demo-ae", "demo-am", "demo-manager", "demo-admin")
BATCH_SIZE = 2000
HISTORY_DAYS = 365
PLANNED_DAYS = 14
BASE_REPS = 24  # headcount at scale 1; volumes follow `scale`, not the rounding of headcount
TEAM_ROLES = (("sdr", 3), ("ae", 3), ("am", 2))
UTC = dt.UTC


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Anna Erik Maria Lars Karin Anders Sara Johan Emma Per Elin Mikael Johanna Fredrik Linnea "
    "Henrik Ida Magnus Hanna Daniel Sofia Jonas Maja Oskar Frida Gustav Klara Viktor Ebba Axel "
    "Alva Filip Lina Niklas Malin Patrik Tove Andreas Matilda Simon"
)
LAST_NAMES = _words(
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
    "Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson Lindström "
    "Olofsson Lindqvist Lindgren Berg Axelsson Bergström Lundberg Lind Lundgren Lundqvist Mattsson "
    "Berglund Fredriksson Sandberg Henriksson Forsberg Sjöberg Wallin Engström Danielsson "
    "Håkansson Eklund Lundin Gunnarsson Holm Björk Nyström Sundberg Åberg Hedlund"
)
TEAM_CITIES = _words(
    "Stockholm Göteborg Malmö Uppsala Linköping Örebro Västerås Umeå Jönköping Lund Sundsvall "
    "Karlstad"
)
CO_HEADS = _words(
    "Norr Syd Väst Öst Berg Sjö Skog Fjäll Dal Ek Björk Gran Lind Sten Vik Ström Holm Ås Kvarn "
    "Hamn Bro Älv Ljung Tall Fors Mal Nord Sol Gull Järn"
)
CO_TAILS = _words(
    "bygg tech data logistik frakt el plast trä mekanik konsult media vård invest fastigheter "
    "energi system verkstad industri handel gruppen"
)
CO_SUFFIXES = ("AB", "AB", "AB", "Sverige AB", "Nordic AB", "& Partner AB", "Holding AB")
DECISION_MAKER_TITLES = _words(
    "VD CFO Ekonomichef Inköpschef Försäljningschef IT-chef COO CTO Marknadschef Affärsområdeschef"
)
TITLES = _words(
    "Inköpare Projektledare IT-ansvarig Controller Kontorschef Produktchef Systemförvaltare "
    "Ekonomiassistent Marknadskoordinator Driftansvarig Kvalitetsansvarig HR-specialist"
)
PRODUCTS = ("Licensavtal", "Plattform", "Implementering", "Supportavtal", "Pilotprojekt")
LOST_REASONS = (
    "Valde en konkurrent",
    "För dyrt",
    "Ingen budget i år",
    "Projektet lades ned",
    "Fel tidpunkt",
    "Slutade svara",
    "Stannar hos befintlig leverantör",
)
SUBJECTS = {
    "call": ("Uppföljningssamtal", "Kvalificeringssamtal", "Avstämning", "Kallsamtal"),
    "email": ("Uppföljning", "Offert", "Kort fråga", "Inbjudan till webbinar", "Tack för mötet"),
    "meeting": ("Introduktionsmöte", "Behovsanalys", "Avtalsgenomgång", "Kvartalsmöte"),
    "demo": ("Demo av plattformen", "Utvärdering på plats", "Teknisk genomgång"),
    "lunch": ("Lunch", "Kundlunch"),
}
LEAD_SOURCES = {  # source: (share, chance that a responded lead becomes an opportunity)
    LeadSource.WEBSITE: (30, 0.22),
    LeadSource.OUTBOUND: (25, 0.14),
    LeadSource.REFERRAL: (10, 0.38),
    LeadSource.EVENT: (12, 0.20),
    LeadSource.PARTNER: (8, 0.30),
    LeadSource.ADVERTISING: (10, 0.14),
    LeadSource.OTHER: (5, 0.16),
}
# Chance to advance past each open stage (the last step is the win), by opportunity kind.
ADVANCE = {"new_business": 0.66, "upsell": 0.74, "renewal": 0.92}
AMOUNT_MEDIAN = {"new_business": 160_000, "upsell": 70_000, "renewal": 120_000}
DWELL_DAYS = (6, 10, 12, 9)  # median working days in each open stage, in order
# Background activities per working day at full intensity, by role.
DAILY = {
    "sdr": {"call": 10.0, "email": 3.0},
    "ae": {"call": 2.2, "email": 2.0, "meeting": 0.45, "demo": 0.12},
    "am": {"call": 2.2, "email": 2.0, "meeting": 0.5, "lunch": 0.25},
}
PLANNED_DAILY = {
    "sdr": {"call": 1.5, "email": 0.5},
    "ae": {"call": 0.6, "meeting": 0.5, "demo": 0.15},
    "am": {"call": 0.6, "meeting": 0.5, "lunch": 0.25},
}
CONNECT_RATE = {"sdr": 0.33, "ae": 0.45, "am": 0.5}
REPLY_RATE = {"sdr": 0.1, "ae": 0.25, "am": 0.3}
SALARY = {"sdr": 34_000, "ae": 48_000, "am": 46_000}
