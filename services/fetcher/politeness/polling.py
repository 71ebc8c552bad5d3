"""When to poll a feed or sitemap again: adaptive intervals with backoff.

Why adaptive (Media Cloud's `poll_minutes`, news-crawl's AdaptiveScheduler): a source that had
nothing new is polled less often, up to `max_interval`; one with new items returns to its
configured interval; a failing one backs off exponentially; the publisher's own period (RSS
`ttl`, `sy:updatePeriod`) is a floor; `Retry-After` is obeyed. A little jitter keeps hundreds
of sources from polling in lock-step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PollPolicy:
    interval_s: float  # configured: the fastest a source is polled
    max_interval_s: float
    unchanged_factor: float = 1.5
    jitter: float = 0.1


def next_interval(
    policy: PollPolicy,
    current_s: float | None,
    *,
    outcome: str,
    failures: int = 0,
    hint_s: float | None = None,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next poll. outcome: "new" | "unchanged" | "failed"."""
    base = policy.interval_s
    current = current_s or base
    if outcome == "new":
        interval = base
    elif outcome == "unchanged":
        interval = current * policy.unchanged_factor
    else:
        interval = base * (2 ** max(0, failures - 1))
    if hint_s:
        interval = max(interval, min(hint_s, policy.max_interval_s))
    interval = min(max(interval, base), policy.max_interval_s)
    if retry_after_s:
        interval = max(interval, retry_after_s)
    spread = interval * policy.jitter
    return max(1.0, interval + (rng or random).uniform(-spread, spread)) if spread else interval
