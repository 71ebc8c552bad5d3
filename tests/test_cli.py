"""The command line: every command explains itself, and no secret ever shows in help output."""

from __future__ import annotations

import click
from click.testing import CliRunner

from services.cli import main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_has_help_and_hides_secrets(monkeypatch) -> None:
    monkeypatch.setenv("NEWSFLOW_KAFKA_SASL_PASSWORD", "s3cr3t-pw")
    runner = CliRunner()
    commands = all_commands(main)
    assert {("up",), ("worker",), ("ingest",), ("process",), ("tail",), ("topics",), ("broker", "start")} <= set(
        commands
    )
    for command in commands:
        result = runner.invoke(main, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage:" in result.output
        assert "s3cr3t-pw" not in result.output


def test_settings_repr_hides_password() -> None:
    from services.settings import Settings

    settings = Settings(kafka_sasl_password="s3cr3t-pw")
    assert "s3cr3t-pw" not in repr(settings) and "s3cr3t-pw" not in str(settings)


def test_a_worker_stop_deadline_must_be_positive(monkeypatch) -> None:
    """0 or less would end every worker at its first SIGTERM: refused with the setting named."""
    import pytest
    from pydantic import ValidationError

    from services.settings import Settings

    monkeypatch.setenv("NEWSFLOW_SHUTDOWN_GRACE_S", "0")
    with pytest.raises(ValidationError, match="shutdown_grace_s"):
        Settings()


def test_a_bad_setting_names_the_variable_instead_of_a_traceback(monkeypatch) -> None:
    from services.settings import get_settings

    monkeypatch.setenv("NEWSFLOW_SHUTDOWN_GRACE_S", "-1")
    get_settings.cache_clear()  # the variable must be read afresh
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2, result.output
    assert "NEWSFLOW_SHUTDOWN_GRACE_S=-1: Input should be greater than 0" in result.output
    assert "Traceback" not in result.output
