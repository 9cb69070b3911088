"""`monitor feeds`: feed lists in and out: OPML import (appended to config.toml as ``[[feeds]]`` tables) and export.

config.toml stays the one place users edit, so an import appends text to it, keeping every
comment and line of the file as it was, and the result is validated before it is written.
A feed whose URL is already configured is skipped; a name already taken gets a number.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from monitor.config import parse as parse_config
from monitor.settings import FeedConfig

_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Imported:
    added: tuple[tuple[str, str], ...]  # (name, url)
    skipped: tuple[tuple[str, str], ...]  # already configured (same URL)


def read_opml(data: bytes, source: str = "OPML") -> list[tuple[str, str]]:
    """(name, url) of every outline with an xmlUrl, nested folders included. Raises ValueError."""
    if _DTD.search(data):
        raise ValueError(f"{source}: a DOCTYPE or ENTITY declaration is not accepted in OPML")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ValueError(f"{source}: not valid XML: {e}") from e
    if root.tag != "opml":
        raise ValueError(f"{source}: not an OPML file (the root element is <{root.tag}>, expected <opml>)")
    feeds = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            name = (outline.get("title") or outline.get("text") or url).strip()
            feeds.append((" ".join(name.split()), url))
    return feeds


def write_opml(feeds: Sequence[FeedConfig], title: str = "monitor feeds") -> str:
    outlines = "\n".join(
        f'    <outline type="rss" text={quoteattr(f.name)} title={quoteattr(f.name)} xmlUrl={quoteattr(f.url)}/>'
        for f in feeds
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">\n'
        f"  <head><title>{title}</title></head>\n  <body>\n{outlines}\n  </body>\n</opml>\n"
    )


def append_feeds(config_path: Path, feeds: Sequence[tuple[str, str]], configured: Sequence[FeedConfig]) -> Imported:
    """Append the feeds not yet configured to the config file, validated, written atomically.
    Raises ConfigError (with the would-be file's problems) and leaves the file untouched."""
    urls = {f.url for f in configured}
    names = {f.name for f in configured}
    added, skipped, tables = [], [], []
    for name, url in feeds:
        if url in urls:
            skipped.append((name, url))
            continue
        unique, n = name, 2
        while unique in names:
            unique, n = f"{name} ({n})", n + 1
        urls.add(url)
        names.add(unique)
        added.append((unique, url))
        tables.append(f"\n[[feeds]]\nname = {json.dumps(unique, ensure_ascii=False)}\nurl = {json.dumps(url)}\n")
    if tables:
        text = config_path.read_text(encoding="utf-8")
        new_text = text + ("" if text.endswith("\n") else "\n") + "".join(tables)
        parse_config(new_text, config_path)  # raises ConfigError: e.g. a URL that is not http(s)
        _write_atomically(config_path, new_text)
    return Imported(tuple(added), tuple(skipped))


def _write_atomically(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, path.stat().st_mode)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
