"""The README stays true: its test command is what CI runs, and every config key is documented."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from monitor.cli import cli
from monitor.config import SCHEMA

README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, keys in SCHEMA.items() for k in keys])
def test_every_config_key_is_documented(section: str, key: str) -> None:
    assert f"`{key}`" in README, f"README does not document [{section}] {key}"


def test_every_command_is_documented() -> None:
    def names(group, prefix=""):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from names(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    for name in names(cli):
        assert f"`monitor {name}" in README, f"README does not document `monitor {name}`"
