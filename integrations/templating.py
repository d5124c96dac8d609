"""Email templates: Jinja2 with gettext catalogs and babel's money and date formats.

For a template NAME, `email_templates/` holds `NAME.subject.txt`, `NAME.txt` (the text part) and
`NAME.html` (the HTML part). The body templates also see the rendered `subject`, so a message can
open with it. English is the source language; other languages are gettext catalogs kept as
`translations/<lang>.po` and compiled in memory when first used, so no .mo build step exists.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models.money import format_money

TEMPLATES = Path(__file__).with_name("email_templates")
# Partials both email and PDF templates import, e.g. how a payment was made.
SHARED_TEMPLATES = Path(__file__).with_name("shared_templates")
TRANSLATIONS = Path(__file__).with_name("translations")
SOURCE_LANGUAGE = "en"
# Languages written right to left: their HTML (email and PDF) says dir="rtl".
RIGHT_TO_LEFT = frozenset({"ar"})
# The punctuation templates put around what they print, as each language writes it: between a
# label and its value (with the space after it, if any), and at the end of a sentence.
# French: a no-break space before the colon; Japanese and Chinese: the fullwidth colon and
# full stop, with no space after them.
_COLON = {"fr": "\u00a0: ", "ja": "\uff1a", "zh": "\uff1a"}
_FULL_STOP = {"ja": "\u3002", "zh": "\u3002"}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(template: str, context: Mapping[str, Any], language: str) -> RenderedEmail:
    env = environment(language)
    values = {**context, "language": env.globals["language"]}
    # A header is one line; collapsing whitespace also keeps newlines in names out of it.
    subject = " ".join(env.get_template(f"{template}.subject.txt").render(values).split())
    values["subject"] = subject
    return RenderedEmail(
        subject=subject,
        text=env.get_template(f"{template}.txt").render(values),
        html=env.get_template(f"{template}.html").render(values),
    )


def locale_for(language: str) -> Locale:
    """`de`, `de-AT` or `de_AT` as a babel Locale; anything unknown means English."""
    try:
        return Locale.parse(language.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse(SOURCE_LANGUAGE)


def environment(language: str, templates: Path = TEMPLATES) -> Environment:
    """The language's environment for a folder of templates; PDFs share it with email."""
    return _environment(str(locale_for(language)), templates)


@functools.cache
def _environment(locale_name: str, templates: Path) -> Environment:
    # One environment per locale: the installed gettext and the filters belong to it, so
    # rendering in one language can never pick up another's.
    locale = Locale.parse(locale_name)
    env = Environment(
        loader=FileSystemLoader([templates, SHARED_TEMPLATES]),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(_translations(locale), newstyle=True)
    env.filters["money"] = functools.partial(_money, locale=locale)
    env.filters["date"] = functools.partial(_date, locale=locale)
    env.filters["datetime"] = functools.partial(_datetime, locale=locale)
    env.globals["language"] = locale.language
    env.globals["direction"] = "rtl" if locale.language in RIGHT_TO_LEFT else "ltr"
    env.globals["colon"] = _COLON.get(locale.language, ": ")
    env.globals["full_stop"] = _FULL_STOP.get(locale.language, ".")
    return env


def _translations(locale: Locale) -> NullTranslations:
    for name in (str(locale), locale.language):
        catalog = _compiled_catalog(name)
        if catalog is not None:
            return catalog
    return NullTranslations()


@functools.cache
def _compiled_catalog(name: str) -> Translations | None:
    path = TRANSLATIONS / f"{name}.po"
    if not path.is_file():
        return None
    with path.open("rb") as po:
        catalog = read_po(po, locale=name, abort_invalid=True)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def _money(minor_units: int, currency: str, *, locale: Locale) -> str:
    return format_money(minor_units, currency, str(locale))


def _date(value: date | datetime, timezone: str = "", *, locale: Locale) -> str:
    if isinstance(value, datetime) and timezone:
        value = value.astimezone(_zone(timezone))
    return format_date(value, "long", locale=locale)


def _datetime(value: datetime, timezone: str, *, locale: Locale) -> str:
    """Long date, short time and zone, e.g. "5. März 2026, 15:30 MEZ" (no seconds)."""
    zone = _zone(timezone)
    local = value.astimezone(zone)
    day = format_date(local, "long", locale=locale)
    with_zone = f"{locale.time_formats['short'].pattern} z"
    time = format_time(local, with_zone, tzinfo=zone, locale=locale)
    # The same combination babel's format_datetime uses: "{1}" is the date, "{0}" the time.
    return get_datetime_format("long", locale).replace("'", "").format(time, day)


def _zone(name: str) -> tzinfo:
    # A bad zone name on an organization must not stop its mail; UTC is still correct, only
    # less convenient to read.
    try:
        return get_timezone(name) if name else UTC
    except LookupError:
        return UTC
