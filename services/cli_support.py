"""What every `newsflow` command module shares: help options, settings, and how to fail."""

from __future__ import annotations

import sys

import click

from services.settings import Settings, get_settings

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def load_settings() -> Settings:
    return get_settings()


def fail(message: str, code: int = 1) -> None:
    """Print `error: message` in red on stderr and exit with `code`."""
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)
