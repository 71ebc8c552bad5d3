"""`python -m ops.soak` explains itself (the soak run itself is long; it is not part of the suite)."""

from __future__ import annotations

import subprocess
import sys

from services.settings import PROJECT_ROOT


def run_python(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120,
                          cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL)


def test_soak_help() -> None:
    out = run_python(["-m", "ops.soak", "--help"])
    assert out.returncode == 0, out.stderr
    for option in ("--docs", "--rate", "--minutes", "--workers", "--out"):
        assert option in out.stdout


def test_soak_imports_without_matplotlib() -> None:
    """The chart is drawn by ops.soak.plot, imported lazily: everything else loads without matplotlib."""
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "import ops.soak.__main__, ops.soak.run, ops.soak.summary\n"
            "print('ok')")
    out = run_python(["-c", code])
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
