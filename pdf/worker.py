"""What runs inside a PDF worker process: a Jinja2 template to HTML, and HTML to PDF.

Everything here is synchronous and CPU-bound; `pdf.renderer` calls it through a process pool.
`render` takes only picklable arguments, so the pool may spawn its workers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import signal
from collections.abc import Iterator
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from jinja2 import Environment

from integrations.templating import SHARED_TEMPLATES, TRANSLATIONS, environment, locale_for

if TYPE_CHECKING:
    from xhtml2pdf.config.resources import ResourceAccessPolicy

TEMPLATES = Path(__file__).with_name("templates")

# Shipped with Portico (pdf/fonts, licences beside them), so every machine renders alike.
# DejaVu Sans covers the names customers really have (Łódź, Ørsted, Ğ...) and Arabic with the
# joined letter forms xhtml2pdf shapes it into; the PDF core font Helvetica only has Latin-1.
# Droid Sans Fallback has the kana and the CJK ideographs of Japanese and Chinese. Both are
# TrueType outlines, which reportlab embeds (as subsets of the glyphs used).
FONTS = Path(__file__).with_name("fonts")
FONT_FILES = {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
# Listed after PorticoSans in every document's font-family: xhtml2pdf draws each character in
# the first family that has it, so a Japanese name in a German invoice prints too.
CJK_FONT_FILE = "DroidSansFallbackFull.ttf"
# Languages written without spaces between words: lines may break between any two characters.
BREAK_ANYWHERE = frozenset({"ja", "zh"})


# What one document may cost to render, in CPU seconds of its worker process (the setting
# PORTICO_PDF_CPU_SECONDS). Far beyond a real document: 300 lines take about 3 s.
DEFAULT_CPU_SECONDS = 60.0

# Once the budget is spent, SIGPROF comes again at this interval of CPU time: reportlab has bare
# `except:` clauses, and one of them may swallow the first.
AGAIN_EVERY_SECONDS = 0.05

_limited = False  # a render is under way whose budget the signal enforces


class RenderError(RuntimeError):
    pass


class RenderTooLarge(RenderError):
    """The document would cost more to render than a document may: a limit of its size, of
    its resources, or of the CPU time its render takes."""


class _OutOfCpuTime(BaseException):
    """Raised by the signal in the middle of xhtml2pdf and reportlab, whose `except Exception`
    clauses must not take it for a problem of the document to log and render past."""


def start() -> None:
    """Runs once in each new worker process. Renders take only the CPU time that requests leave
    over: with Linux's SCHED_IDLE a server thread that wakes up preempts a render at once, which
    keeps the API's latency as it is while PDFs render; elsewhere the lowest priority will do.

    So a render's limit is CPU time, not time on the clock: on a busy server a render waits
    for the CPU as long as requests keep it busy, and must not fail for having waited."""
    signal.signal(signal.SIGPROF, _out_of_cpu_time)
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)


def _out_of_cpu_time(signum: int, frame: object) -> None:
    if _limited:  # not once the render has ended, whatever signal is still on its way
        raise _OutOfCpuTime


def render(
    template: str, context: dict[str, Any], language: str, cpu_seconds: float = DEFAULT_CPU_SECONDS
) -> bytes:
    """The PDF, unless it takes more than `cpu_seconds` of this process's CPU time."""
    # Imported here: the server process needs this module's fingerprint, not xhtml2pdf.
    from xhtml2pdf import pisa
    from xhtml2pdf.config.resources import RenderLimitError

    env = _environment(language)
    script = {
        "font_faces": font_faces(),
        "cjk_font": (FONTS / CJK_FONT_FILE).as_posix(),
        "break_anywhere": env.globals["language"] in BREAK_ANYWHERE,
    }
    html = env.get_template(template).render({**context, **script})
    out = BytesIO()
    try:
        with _cpu_time_limit(cpu_seconds):
            status = pisa.CreatePDF(
                html,
                dest=out,
                encoding="utf-8",
                path=str(TEMPLATES / template),
                resource_policy=_policy(),
            )
    except _OutOfCpuTime:
        raise RenderTooLarge(
            f"the render took more than its {cpu_seconds:g} s of CPU time"
        ) from None
    except RenderLimitError as exc:  # xhtml2pdf's limits on the whole document: size, depth
        raise RenderTooLarge(str(exc)) from None
    if status.err:
        raise RenderError(f"{template}: xhtml2pdf reported {status.err} error(s)")
    return out.getvalue()


@contextlib.contextmanager
def _cpu_time_limit(cpu_seconds: float) -> Iterator[None]:
    """SIGPROF (the process's user and system time) ends the block with `_OutOfCpuTime` once
    it has had its CPU time. A signal that comes while the block ends raises from here, still
    inside the caller's `try`; after `_limited` is cleared, none raises at all."""
    global _limited
    _limited = True
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds, AGAIN_EVERY_SECONDS)
    try:
        yield
    finally:
        _limited = False
        signal.setitimer(signal.ITIMER_PROF, 0)


def _environment(language: str) -> Environment:
    """The email templates' environment for this folder (the same translations, `money` and
    `date`), and quantities, rates and percentages as the language writes numbers."""
    env = environment(language, TEMPLATES)
    if "number" not in env.filters:
        env.filters["number"] = functools.partial(_number, locale=locale_for(language))
    return env


def _number(value: Decimal, least: int = 0, most: int = 4, *, locale: Locale) -> str:
    """`least` to `most` decimals: 1.5, 19.995, 19.90 with least=2."""
    return _pattern(least, most).apply(value, locale)


@functools.cache
def _pattern(least: int, most: int) -> NumberPattern:
    fraction = "0" * least + "#" * max(0, most - least)
    return parse_pattern(f"#,##0.{fraction}" if fraction else "#,##0")


def font_faces() -> dict[str, str]:
    """The Latin (and Arabic) font files by weight."""
    return {weight: (FONTS / name).as_posix() for weight, name in FONT_FILES.items()}


@functools.cache
def _policy() -> ResourceAccessPolicy:
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    # Templates escape everything customers and staff type, so a document cannot ask for a
    # resource; still, no network at all and local reads only of the templates and the fonts.
    # No limit on the clock's time (see `start`): `_cpu_time_limit` bounds the render.
    return ResourceAccessPolicy.server(
        base_dir=TEMPLATES, extra_roots=(FONTS,), allow_remote=False, max_render_seconds=None
    )


@functools.cache
def fingerprint() -> str:
    """Changes when anything that shapes a PDF besides its data does: templates, translations,
    the fonts. Part of every cache key, so a new release never serves old layouts."""
    digest = hashlib.sha256()
    shared = SHARED_TEMPLATES.glob("*.txt")
    for path in sorted([*TEMPLATES.glob("*.html"), *shared, *TRANSLATIONS.glob("*.po")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for name in sorted([*FONT_FILES.values(), CJK_FONT_FILE]):
        digest.update(name.encode())
        digest.update(str((FONTS / name).stat().st_size).encode())
    return digest.hexdigest()[:16]
