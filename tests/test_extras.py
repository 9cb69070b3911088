"""Without an optional extra's packages (pyproject.toml: postgres, demo), what needs them stops with
one line naming the pip command, never a traceback. The packages are installed here, so the
subprocess hides one the way Python reports a missing package (``sys.modules[name] = None``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import monitor_env, write_config

WITHOUT = "import sys; sys.modules[{name!r}] = None; sys.argv[0] = 'monitor'; from monitor.cli import main; main()"


def monitor_without(package: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    code = WITHOUT.format(name=package)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, env=monitor_env(**env)
    )


@pytest.mark.parametrize("package", ["psycopg", "psycopg_pool"])
@pytest.mark.parametrize("command", ["run", "migrate", "status"])
def test_a_postgresql_database_without_the_driver(tmp_path: Path, package: str, command: str) -> None:
    path = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"})
    url = "postgresql://m@127.0.0.1:1/m"
    result = monitor_without(package, command, "--config", str(path), MONITOR_DATABASE_URL=url)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: a postgresql:// database needs the package {package}, which is not installed: "
        "pip install -e '.[postgres]' (the image: --build-arg EXTRAS=postgres)\n"
    )


def test_the_demo_without_its_smtp_server() -> None:
    result = monitor_without("aiosmtpd", "demo")
    assert result.returncode == 2
    assert (
        result.stderr
        == "error: `monitor demo` needs the package aiosmtpd, which is not installed: pip install -e '.[demo]'\n"
    )
    assert result.stdout == ""


def test_sqlite_needs_no_extra(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"})
    result = monitor_without("psycopg", "status", "--config", str(path))
    assert result.returncode == 0, result.stderr


def test_a_missing_required_package_is_not_disguised(tmp_path: Path) -> None:
    """A bug (a required package gone), not a missing extra: Python's own error stays visible."""
    path = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"})
    result = monitor_without("rich", "status", "--config", str(path))
    assert result.returncode == 1 and "ModuleNotFoundError" in result.stderr
