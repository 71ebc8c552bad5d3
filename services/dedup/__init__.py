"""Dedup stage core: exact, near-duplicate and story verdicts (see docs/dedup.md)."""

from services.dedup.core import Deduplicator

__all__ = ["Deduplicator"]
