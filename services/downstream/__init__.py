"""Downstream tools: replay/backfill, lag and DLQ status, DLQ re-drive, subscription filters."""
