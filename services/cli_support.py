"""What every `newsflow` command module shares: help options, settings, and how to fail."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from services.settings import Settings, get_settings

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def load_settings() -> Settings:
    """The settings, or exit with each bad NEWSFLOW_* variable named (not a pydantic traceback)."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "NEWSFLOW_" + "_".join(map(str, error["loc"])).upper()
            shown = "***" if "PASSWORD" in name else error.get("input")  # never echo a secret
            problems.append(f"{name}={shown}: {error['msg']}")
        fail("invalid settings (see .env.example):\n  " + "\n  ".join(problems), code=2)
        raise  # unreachable: fail exits


def fail(message: str, code: int = 1) -> None:
    """Print `error: message` in red on stderr and exit with `code`."""
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)
