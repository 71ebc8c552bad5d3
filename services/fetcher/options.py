"""Fetcher knobs: `NEWSFLOW_FETCH_*` settings, overridable by the sources file's `fetcher:` section.

Why a separate dataclass: the settings object is shared by every process; the fetcher reads its
own fields from it with defaults (so it runs before they are declared there), and tests and the
sources file override them without touching the environment.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from services import __version__
from services.fetcher.addresses import AddressPolicy
from services.settings import Settings

DEFAULT_USER_AGENT = f"newsflow/{__version__} (+https://github.com/newsflow/newsflow; news fetcher)"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def duration(value: Any) -> float:
    """Seconds from 90, "90s", "15m", "2h", "1d", "1w"."""
    if isinstance(value, int | float):
        return float(value)
    found = _DURATION.match(str(value))
    if not found:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 2h, 1d)")
    return float(found.group(1)) * _UNITS[found.group(2)]


@dataclass(frozen=True, slots=True)
class FetchOptions:
    user_agent: str = DEFAULT_USER_AGENT
    timeout_s: float = 30.0  # whole request, headers and body
    connect_timeout_s: float = 10.0
    host_delay_s: float = 2.0  # between request starts on one host
    host_concurrency: int = 2
    max_crawl_delay_s: float = 30.0  # robots.txt Crawl-delay is honoured up to this
    page_concurrency: int = 16  # requests in flight, all hosts
    listing_concurrency: int = 4  # feeds and sitemaps in flight
    max_redirects: int = 5
    max_attempts: int = 3  # per article page, for transient failures
    retry_base_s: float = 30.0  # first retry after this, doubling
    max_retry_after_s: float = 3600.0  # a longer Retry-After is capped
    max_body_bytes: int = 4 * 1024 * 1024  # pages; larger ones are refused, not truncated
    max_listing_bytes: int = 64 * 1024 * 1024  # feeds and sitemaps, decompressed
    max_archive_bytes: int = 8 * 1024 * 1024 * 1024  # a WARC downloaded from a URL (CC-NEWS files are ~1 GB)
    download_dir: str = ""  # where downloaded archives are kept while read (default: the system temp dir)
    max_sitemap_depth: int = 3
    max_child_sitemaps: int = 200
    allow_networks: str = ""  # comma-separated CIDRs allowed although private (e.g. 127.0.0.0/8)
    respect_robots: bool = True
    robots_ttl_s: float = 86400.0
    robots_error_ttl_s: float = 600.0
    interval_s: float = 900.0  # default poll interval of a source
    max_interval_s: float = 86400.0
    fetcher_id: str = "fetcher"  # names the transactional producer: one fetcher per id
    commit_interval_s: float = 0.25
    commit_batch: int = 200

    @property
    def address_policy(self) -> AddressPolicy:
        return AddressPolicy.of(self.allow_networks)

    @property
    def robots_token(self) -> str:
        """The product token robots.txt groups are matched against ("newsflow")."""
        return self.user_agent.split("/", 1)[0].split()[0].lower()

    @classmethod
    def from_settings(cls, settings: Settings, overrides: dict[str, Any] | None = None) -> FetchOptions:
        """`settings.fetch_<name>` (`fetcher_id`, `max_body_bytes`) when declared, then `overrides[name]`."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = getattr(settings, _SETTINGS_NAMES.get(f.name, f"fetch_{f.name}"), None)
            if overrides and f.name in overrides:
                value = overrides[f.name]
            if value is None:
                continue
            values[f.name] = _coerce(f.name, value, f.type)
        return cls(**values)

    def replace(self, **changes: Any) -> FetchOptions:
        return dataclasses.replace(self, **changes)


# options whose settings field is not `fetch_<name>`
_SETTINGS_NAMES = {"max_body_bytes": "max_body_bytes", "fetcher_id": "fetcher_id"}


def _coerce(name: str, value: Any, kind: Any) -> Any:
    kind = str(kind)
    if name.endswith("_s"):
        return duration(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if kind == "str" and isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value
