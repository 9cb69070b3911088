"""The `monitor` command (also `python -m monitor`): see ``app`` for the group and its conventions."""

from monitor.cli import admin, monitoring, tuning
from monitor.cli.app import cli

__all__ = ["admin", "cli", "main", "monitoring", "tuning"]


def main() -> None:
    cli(prog_name="monitor")
