"""The exception tree. Expected failures of the outside world are values (see ``model``);
exceptions are for input we cannot continue with, and for bugs.

MonitorError
├── ConfigError     a config.toml problem, located: file:line: key: what is wrong
├── RuleError       a rules/*.toml problem, located: file:line: column C: what was expected
├── StoreError      the database cannot be opened or written (where, why, what to do; ``kind``)
│   └── DatabaseUnreachable   no PostgreSQL server at the configured host (never the password)
├── DeliveryError   a notifier was misconfigured (not a Slack outage: those are values)
└── SecretError     a secret the config names cannot be read (its *_FILE is missing, a folder...)

``cli`` is the only place that turns these into exit codes and stderr text.
"""

from __future__ import annotations

from pathlib import Path


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""


class LocatedError(MonitorError):
    """An error at a place in a user's file, printed as ``file:line: message``."""

    def __init__(self, file: Path | str, line: int | None, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ConfigError(LocatedError):
    """A config problem. ``problems`` holds every problem found, not just the first."""

    def __init__(
        self, file: Path | str, line: int | None, message: str, problems: list[LocatedError] | None = None
    ) -> None:
        super().__init__(file, line, message)
        self.problems = problems or [self]


class RuleError(LocatedError):
    """A rule problem, with the column where the query went wrong when there is one."""

    def __init__(self, file: Path | str, line: int | None, message: str, column: int | None = None) -> None:
        self.column = column
        super().__init__(file, line, message)

    def __str__(self) -> str:
        text = super().__str__()
        if self.column is None:
            return text
        where, _, message = text.partition(": ")
        return f"{where}: column {self.column}: {message}"


class RuleErrors(MonitorError):
    """Every problem found in the rule packs, so ``monitor check`` can list them all."""

    def __init__(self, problems: list[RuleError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(MonitorError):
    """The database could not be opened, migrated or written. ``kind`` names the cause where it is
    recognisable (see ``store.faults``): full, permission, corrupt, busy, io, unreachable, schema;
    else other."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


class DatabaseUnreachable(StoreError):
    """The database server cannot be reached or refuses the login (a setup problem: exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "unreachable")


class DeliveryError(MonitorError):
    """A notifier cannot work as configured (e.g. the token's env var is unset)."""


class SecretError(MonitorError):
    """A secret named in the config cannot be read; the message never contains its value."""
