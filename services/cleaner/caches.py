"""The extraction stack's module-level caches, and how a long-running worker keeps them small.

trafilatura, htmldate, courlan and justext memoise helpers at module level (trafilatura
issue #216, htmldate issue #56: workers running for days grew until restarted). In the
versions pinned here (trafilatura 2.3.1, htmldate 1.11, courlan 1.4, jusText 3.0) every
such cache that sees per-page keys is bounded, but the bounds are generous and they are
keyed by whole text lines and date strings, which are new on almost every page:

    htmldate   _parse_and_validate, filter_ymd_candidate, try_date_expr   8192 entries each
    trafilatura line_processing, trim (whole text lines), is_similar_domain 1024 each
               return_printables_and_spaces (per character)                16384
    courlan    langcodes_score; urllib.parse's split cache                 1024; 128
    justext    define_stoplist (only with fast=False)                     128 stoplists

Full, they hold up to ~10 MB (measured: ~1.5 MB of entries after 1500 pages, mostly trafilatura's
line caches; htmldate's fill slowly, ~0.3 KB per entry) that a news stream, which rarely repeats
a line, never reuses. `ArticleCleaner` therefore calls `reset_caches()` every
`CACHE_RESET_EVERY` documents.

Two things grow that no reset can reach (see docs/cleaning.md, "Memory in long runs"):
libxml2's per-thread name dictionary (lxml interns every distinct tag/attribute name it
parses, ~40 bytes each: hashed names such as Vue's `data-v-1a2b3c4d` add up slowly), and
charset_normalizer's per-codepoint cache, only used when trafilatura is given bytes (the
cleaner always passes text).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

import trafilatura.meta

# Documents between two resets. A reset costs one full garbage collection and a malloc_trim
# (50-150 ms measured on a loaded 2-core machine, where 1000 pages took 90 s: ~0.1%) plus a few
# slightly slower pages while the caches refill. At 1000, htmldate's caches (8192 entries each,
# a few date strings per page without declared dates) never get near their bounds; trafilatura's
# line caches (1024 lines, ~10 per page) are full after ~100 pages whatever the interval. Together
# they stay at ~1.5 MB instead of up to ~10 MB; lower intervals buy nothing measurable.
# None or 0 turns the resets off.
CACHE_RESET_EVERY = 1000

LOGGER = logging.getLogger(__name__)


class _DropStaleCacheError(logging.Filter):
    """htmldate 1.11's reset also clears a charset_normalizer function that charset_normalizer 3.5
    no longer caches, and logs an ERROR each time it finds no `cache_clear` (everything else is
    cleared first). Drop that one record so a reset every N documents doesn't flood the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("impossible to clear cache for function")


logging.getLogger("htmldate.meta").addFilter(_DropStaleCacheError())


def _lru_caches() -> dict[str, Any]:
    """The per-page lru caches `trafilatura.meta.reset_caches` clears, by name (for reporting)."""
    import courlan.filters
    import htmldate.extractors
    import htmldate.validators
    import justext.core
    import trafilatura.deduplication
    import trafilatura.utils

    return {
        "htmldate._parse_and_validate": htmldate.validators._parse_and_validate,
        "htmldate.filter_ymd_candidate": htmldate.validators.filter_ymd_candidate,
        "htmldate.try_date_expr": htmldate.extractors.try_date_expr,
        "trafilatura.line_processing": trafilatura.utils.line_processing,
        "trafilatura.trim": trafilatura.utils.trim,
        "trafilatura.return_printables_and_spaces": trafilatura.utils.return_printables_and_spaces,
        "trafilatura.is_similar_domain": trafilatura.deduplication.is_similar_domain,
        "courlan.langcodes_score": courlan.filters.langcodes_score,
        "justext.define_stoplist": justext.core.define_stoplist,
    }


def cache_entries() -> dict[str, int]:
    """How many entries each known cache holds now (missing functions are skipped)."""
    sizes: dict[str, int] = {}
    try:
        caches = _lru_caches()
    except (ImportError, AttributeError):  # another version of the stack: nothing to report
        return sizes
    for name, fn in caches.items():
        info = getattr(fn, "cache_info", None)
        if info is not None:
            sizes[name] = info().currsize
    return sizes


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None elsewhere (musl, macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def reset_caches(trim: bool = True) -> None:
    """Empty the extraction stack's caches and hand freed heap pages back to the system.

    `trafilatura.meta.reset_caches` clears trafilatura's, htmldate's, courlan's (and
    urllib.parse's) and justext's caches, then runs a full garbage collection. libxml2 frees
    parsed trees with malloc, and glibc keeps freed pages in its arenas (one per thread) until
    asked: `malloc_trim(0)` returns them (~18 MB measured right after 1000 pages). The next few
    hundred pages take that back, so it does not lower the plateau: it only returns what is free
    at that moment (and costs a few ms). Skipped where there is no glibc.
    """
    trafilatura.meta.reset_caches()
    if trim and (malloc_trim := _malloc_trim()) is not None:
        malloc_trim(0)
    LOGGER.debug("extraction caches reset")
