"""The `monitor` command group and what its commands share: the --config option, loading the
config (logging set up, secrets hidden), and mapping errors to exit codes: 0 ok, 1 a runtime
failure, 2 a config, rule or setup problem; `monitor poll` adds 3 (``ALL_FEEDS_FAILED``). The
commands live in ``monitoring``, ``tuning`` and ``admin``; none holds logic beyond calling the
shell and rendering its answer.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from monitor import __version__, config, logs
from monitor.errors import (
    ConfigError,
    DatabaseUnreachable,
    DeliveryError,
    MonitorError,
    RuleError,
    RuleErrors,
    SecretError,
)
from monitor.settings import parse_duration
from monitor.textsafety import for_terminal

if TYPE_CHECKING:
    from rich.console import Console

CONTEXT = {"help_option_names": ["-h", "--help"]}
T = TypeVar("T")
UNWRAPPED = 100_000  # the width of output that is not a terminal: no line is ever wrapped
ALL_FEEDS_FAILED = 3  # `monitor poll`: it ran, and every feed it polled failed (offline, a proxy, DNS)
# The packages of pyproject.toml's extras, imported only where needed: what needs them, how to add them.
_POSTGRES = ("a postgresql:// database", "pip install -e '.[postgres]' (the image: --build-arg EXTRAS=postgres)")
OPTIONAL = {"psycopg": _POSTGRES, "psycopg_pool": _POSTGRES, "aiosmtpd": ("`monitor demo`", "pip install -e '.[demo]'")}


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--config on every command, defaulting to $MONITOR_CONFIG, then ./config.toml."""
    return click.option(
        "--config",
        "config_path",
        envvar=config.CONFIG_ENV,
        default=config.DEFAULT_CONFIG_PATH,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Config file (or set $MONITOR_CONFIG).",
    )(command)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConfigError, RuleErrors) as e:
            for problem in e.problems:
                click.echo(for_terminal(f"{problem}"), err=True)
            sys.exit(2)
        except (RuleError, DeliveryError, DatabaseUnreachable, SecretError) as e:
            click.echo(for_terminal(f"error: {e}"), err=True)
            sys.exit(2)
        except MonitorError as e:
            click.echo(for_terminal(f"error: {e}"), err=True)
            sys.exit(1)
        except ModuleNotFoundError as e:
            package = (e.name or "").partition(".")[0]
            if package not in OPTIONAL:
                raise
            needs, install = OPTIONAL[package]
            click.echo(f"error: {needs} needs the package {package}, which is not installed: {install}", err=True)
            sys.exit(2)

    return wrapper


def load(config_path: Path) -> config.Config:
    loaded = config.load(config_path)
    logs.setup(loaded.monitor.log_format, logs.LEVELS[loaded.monitor.log_level])
    logs.hide(config.secret_values(loaded))
    return loaded


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="monitor")
def cli() -> None:
    """Event-driven news monitor: feeds -> rules -> one alert per story (Slack or console),
    and a daily digest.

    Example: monitor poll --config config.toml
    """


def duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


def stdout_console() -> Console:
    """rich's console for standard output: a terminal's width; piped or redirected, lines as long
    as they are (rich would wrap them at 80 columns, mid-word, for grep and cut to trip on)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=UNWRAPPED, soft_wrap=True)


def progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """A progress bar on stderr when it is a terminal; the items pass through unchanged."""
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    yield from track(items, label, total=total, console=console, transient=True, disable=not console.is_terminal)
