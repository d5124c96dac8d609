"""Renders PDFs in a bounded pool of worker processes.

A PDF takes from a tenth of a second to seconds of pure-Python CPU work (xhtml2pdf also renders
one document at a time per process), so it never runs on the event loop: the loop only awaits
the pool. The pool starts on first use; `shutdown()` ends it with the app.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from integrations import metrics, tracing
from pdf import worker

DEFAULT_WORKERS = 2

_workers = DEFAULT_WORKERS
_cpu_seconds = worker.DEFAULT_CPU_SECONDS
_pool: ProcessPoolExecutor | None = None
_renders = 0
_in_flight = 0  # handed to the pool and not yet back: rendering, or waiting for a process


def configure(
    *, workers: int = DEFAULT_WORKERS, cpu_seconds: float = worker.DEFAULT_CPU_SECONDS
) -> None:
    """`workers` takes effect for the next pool (call before the first render, or after
    `shutdown()`); `cpu_seconds`, what one render may take (worker.RenderTooLarge beyond), for
    the next render."""
    global _workers, _cpu_seconds
    _workers = max(1, workers)
    _cpu_seconds = cpu_seconds


async def render_pdf(template: str, context: dict[str, Any], language: str) -> bytes:
    """`template` from pdf/templates, rendered with `context` in `language`."""
    global _renders
    pool = _executor()
    loop = asyncio.get_running_loop()
    _count_in_flight(+1)
    try:
        with tracing.span("pdf render", attributes={"portico.pdf.template": template}):
            pdf = await loop.run_in_executor(
                pool, worker.render, template, context, language, _cpu_seconds
            )
    except BrokenProcessPool:
        # A worker died (killed, out of memory): this pool takes no more work, the next one will.
        _discard(pool)
        raise
    finally:
        _count_in_flight(-1)
    _renders += 1
    return pdf


def _count_in_flight(change: int) -> None:
    # The pool does not say which of its jobs a process has taken: all it has, up to one per
    # process, are under way, the rest wait.
    global _in_flight
    _in_flight += change
    rendering = min(_in_flight, _workers)
    metrics.PDF_RENDERS_IN_PROGRESS.set(rendering)
    metrics.PDF_RENDERS_PENDING.set(_in_flight - rendering)


def render_count() -> int:
    """PDFs this process has rendered, for tests and benchmarks to tell a render from a cache
    hit."""
    return _renders


def shutdown() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # Spawned, not forked: the server process has an event loop and database threads, which
        # a forked child would inherit in whatever state they were in.
        _pool = ProcessPoolExecutor(
            max_workers=_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker.start,
        )
    return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    if _pool is pool:
        _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
