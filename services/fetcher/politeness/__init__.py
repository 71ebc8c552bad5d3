"""Politeness: per-host pacing and concurrency (scheduler), and when to poll a source again (polling)."""
