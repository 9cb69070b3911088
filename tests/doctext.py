"""Reading the Markdown pages for the docs tests: sections, anchors, code blocks, links and the
`monitor ...` invocations written in them. Only the subset of Markdown the pages use."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click

from monitor.cli import cli

FENCE = re.compile(r"^ *```(\w*)\n(.*?)^ *```\n", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^()\s]+)\)")
CODE_SPAN = re.compile(r"`[^`]+`")  # may run over a line break, as in Markdown
OPERATORS = {"&&", "||", "|", ";", "&", "(", ")"}
REDIRECTS = {">", ">>", "<", "2>", "&>"}


def prose(text: str) -> str:
    """The text without fenced code blocks (each replaced by an empty line)."""
    return FENCE.sub("\n", text)


def sections(text: str, level: int = 2) -> dict[str, str]:
    """Heading text -> the section's text, up to the next heading of this level or above (headings
    inside code blocks, such as shell comments, do not count)."""
    found: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    in_fence = False
    for line in text.splitlines(keepends=True):
        in_fence ^= line.lstrip().startswith("```")
        heading = None if in_fence else re.match(r"(#{1,6}) (.+)$", line)
        if heading and len(heading.group(1)) <= level:
            if current is not None:
                found[current] = "".join(lines)
            current = heading.group(2).strip() if len(heading.group(1)) == level else None
            lines = []
        elif current is not None:
            lines.append(line)
    if current is not None:
        found[current] = "".join(lines)
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: code marks and links reduced to their text, lower case,
    punctuation other than '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor, with GitHub's -1, -2 ... for repeated ones."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(text), flags=re.MULTILINE):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    """The targets of inline links and images outside code."""
    return LINK.findall(CODE_SPAN.sub(lambda m: " " * len(m.group(0)), prose(text)))


def code_blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def code_spans(text: str) -> list[str]:
    return [" ".join(span.strip("`").split()) for span in CODE_SPAN.findall(prose(text))]


def shell_invocations(block: str) -> Iterator[list[str]]:
    """The argument lists of every `monitor` (or `.../bin/monitor`) run in a shell code block."""
    for line in block.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        skip_next = False
        for token in [*lexer, ";"]:
            if skip_next:
                skip_next = False
            elif token in REDIRECTS:
                skip_next = True
            elif token in OPERATORS:
                words = [w for w in command if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", w)] if command else []
                if words and Path(words[0]).name == "monitor":
                    yield words[1:]
                command = []
            else:
                command.append(token)


def resolve(args: list[str]) -> tuple[click.Command, click.Context, list[str]]:
    """Walk the command tree along ``args``: the command they name, its context, its arguments.
    Raises click.UsageError for a command that does not exist."""
    command: click.Command = cli
    context = click.Context(cli, info_name="monitor")
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        if name not in command.commands:
            raise click.UsageError(f"no command {' '.join([*context.command_path.split()[1:], name])!r}")
        command = command.commands[name]
        context = click.Context(command, info_name=name, parent=context)
    return command, context, rest


def check_invocation(args: list[str], strict: bool = True) -> click.Command:
    """Parse ``args`` with the command's own click parser: the command exists, every option exists
    and has its value. ``strict`` also checks arguments, required options and choice values
    (prose may write placeholders such as ``--id N``; code blocks must be runnable)."""
    command, context, rest = resolve(args)
    if isinstance(command, click.Group):
        if rest and rest[0] not in ("--help", "-h", "--version"):
            raise click.UsageError(f"{context.command_path}: expected a command, got {rest}")
        return command
    options, extra, _ = command.make_parser(context).parse_args(list(rest))
    if not strict:
        return command
    if extra:
        raise click.UsageError(f"{context.command_path}: unexpected arguments {extra}")
    for param in command.params:
        value = options.get(param.name)
        given = isinstance(value, str | list | bool)
        if (isinstance(param, click.Argument) or param.required) and not given:
            raise click.UsageError(f"{context.command_path}: missing {param.name}")
        if given and isinstance(param.type, click.Choice):
            for choice in value if isinstance(value, list) else [value]:
                param.type.convert(choice, param, context)
    return command


def command_tree() -> Iterator[tuple[str, click.Command, click.Context]]:
    """('monitor rules test', command, context) for the root and every command under it."""

    def walk(command: click.Command, context: click.Context) -> Iterator[tuple[str, click.Command, click.Context]]:
        yield context.command_path, command, context
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, click.Context(sub, info_name=name, parent=context))

    yield from walk(cli, click.Context(cli, info_name="monitor"))
