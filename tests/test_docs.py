"""The documentation stays true and findable.

- README is short (at most 300 lines) and its two quick-start commands are what a newcomer runs:
  the first starts the monitor on the embedded default, the second is what CI runs.
- Every config key (monitor.config.SCHEMA) has its own row, under its own section's heading, in
  docs/configuration.md, with the code's default and help; every config example there parses.
- Every command (walking the click tree) has its own `## monitor ...` section in docs/commands.md
  with click's usage line, every option, and an example that runs that command.
- Every `monitor ...` written in a shell block, or in inline code, of README and docs/ names a real
  command and real options (parsed by click's own parser).
- Every relative link resolves to a file, and a #fragment to a heading of that file.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
from conftest import ROOT
from doctext import (
    anchors,
    check_invocation,
    code_blocks,
    code_spans,
    command_tree,
    links,
    sections,
    shell_invocations,
)

from monitor import config
from monitor.config import ARRAY_SECTIONS, SCHEMA

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md")), ROOT / "rules" / "README.md"]
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
COMMANDS = (DOCS / "commands.md").read_text(encoding="utf-8")


def text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


# --- README ---------------------------------------------------------------------------------------


def quick_start_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", sections(text(README))["Quick start"])


def test_readme_is_at_most_300_lines() -> None:
    assert len(text(README).splitlines()) <= 300


def test_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()


def test_quick_start_runs_the_embedded_default() -> None:
    """The first command runs the repository's config.toml: SQLite, and the console (no Slack)."""
    run = re.search(r"monitor run --config (\S+)$", quick_start_commands()[0])
    assert run, "the first quick-start command should start `monitor run`"
    cfg = config.parse(text(ROOT / run.group(1)), ROOT / run.group(1))
    assert cfg.slack is None and cfg.database_url is None and cfg.feeds


def test_docs_has_the_reference_pages() -> None:
    for page in ("configuration", "commands", "rules", "operations", "design"):
        assert (DOCS / f"{page}.md").is_file(), page


# --- configuration: every key in its own section ----------------------------------------------------


def heading(section: str) -> str:
    return f"[[{section}]]" if section in ARRAY_SECTIONS else f"[{section}]"


def key_rows(section: str) -> dict[str, list[str]]:
    """The generated table of ``## [section]``: key -> [type, default, meaning, on reload]."""
    body = sections(CONFIGURATION).get(heading(section))
    assert body is not None, f"docs/configuration.md has no '## {heading(section)}' section"
    begin = f"<!-- BEGIN GENERATED: config keys {heading(section)} -->"
    assert begin in body, f"'## {heading(section)}' has no '{begin}' marker"
    table = body.split(begin, 1)[1].split("<!-- END GENERATED -->", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5:
            key = cells[0].strip("`")
            assert key not in rows, f"[{section}] {key} has two rows"
            rows[key] = cells[1:]
    return rows


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, keys in SCHEMA.items() for k in keys])
def test_every_config_key_has_a_row_in_its_section(section: str, key: str) -> None:
    rows = key_rows(section)
    assert key in rows, f"docs/configuration.md: '## {heading(section)}' has no row for `{key}`"
    _, default, meaning, on_reload = rows[key]
    spec = SCHEMA[section][key]
    assert meaning == spec.help, f"[{section}] {key}: the meaning should be the schema's help"
    assert on_reload == ("restart" if spec.restart else "applies")
    if spec.required:
        assert default == "required"
    elif spec.shown_default:
        assert default == spec.shown_default
    elif spec.required:
        assert default == "required"
    elif spec.default is None:
        assert default == "none"
    else:  # written as the TOML value that gives the code's default
        written = tomllib.loads(f"value = {default.strip('`')}")["value"]
        assert spec.parse(written) == spec.default, f"[{section}] {key}: default {default}"


@pytest.mark.parametrize("section", SCHEMA)
def test_no_config_row_for_a_key_that_does_not_exist(section: str) -> None:
    assert set(key_rows(section)) <= set(SCHEMA[section])


@pytest.mark.parametrize(
    ("page", "block"),
    [
        (name(page), block)
        for page in (README, DOCS / "configuration.md", DOCS / "delivery.md", DOCS / "operations.md")
        for block in code_blocks(text(page), "toml")
    ],
)
def test_config_examples_parse(page: str, block: str) -> None:
    config.parse(block, Path(page))  # raises ConfigError with every problem


# --- commands: every command in its own section ------------------------------------------------------


def command_sections() -> dict[str, str]:
    return {title: body for title, body in sections(COMMANDS).items() if title.split()[0] == "monitor"}


@pytest.mark.parametrize(
    ("path", "command", "context"),
    [row for row in command_tree() if not isinstance(row[1], click.Group) or row[1].params],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_every_command_has_its_own_section(path: str, command: click.Command, context: click.Context) -> None:
    section = command_sections().get(path)
    assert section is not None, f"docs/commands.md has no '## {path}' section"
    assert command.get_usage(context) in section, f"'## {path}' should show `{command.get_usage(context)}`"
    for param in command.params:
        for option in [*param.opts, *param.secondary_opts] if isinstance(param, click.Option) else []:
            assert f"`{option}" in section, f"'## {path}' does not document {option}"
    examples = [args for block in code_blocks(section, "sh") for args in shell_invocations(block)]
    assert any(check_invocation(args) is command for args in examples), f"'## {path}' has no example"


def test_no_section_for_a_command_that_does_not_exist() -> None:
    real = {path for path, _, _ in command_tree()}
    assert set(command_sections()) <= real


# --- every `monitor ...` written in the docs runs --------------------------------------------------


@pytest.mark.parametrize(
    ("page", "args"),
    [
        pytest.param(name(page), args, id=f"{name(page)}: monitor {' '.join(args)}")
        for page in PAGES
        for block in code_blocks(text(page), "sh")
        for args in shell_invocations(block)
    ],
)
def test_commands_in_code_blocks_parse(page: str, args: list[str]) -> None:
    try:
        check_invocation(args)
    except click.UsageError as e:
        pytest.fail(f"{page}: `monitor {' '.join(args)}`: {e.format_message()}")


@pytest.mark.parametrize(
    ("page", "span"),
    [(name(page), span) for page in PAGES for span in code_spans(text(page)) if span.startswith("monitor ")],
)
def test_commands_in_inline_code_name_real_commands_and_options(page: str, span: str) -> None:
    try:
        check_invocation(span.split()[1:], strict=False)
    except click.UsageError as e:
        pytest.fail(f"{page}: `{span}`: {e.format_message()}")


# --- links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "target"),
    [(name(page), target) for page in PAGES for target in links(text(page)) if not re.match(r"[a-z]+:", target)],
)
def test_relative_links_resolve(page: str, target: str) -> None:
    path, _, fragment = target.partition("#")
    source = ROOT / page
    linked = (source.parent / path).resolve() if path else source
    assert linked.is_relative_to(ROOT) and linked.exists(), f"{page}: {target}: no such file"
    if fragment:
        assert fragment in anchors(linked.read_text(encoding="utf-8")), f"{page}: {target}: no such heading"


def test_the_generated_config_tables_match_the_code() -> None:
    """docs/configuration.md's key tables are generated from monitor/settings.py: no drift."""
    result = subprocess.run(
        [sys.executable, str(DOCS / "generate.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
