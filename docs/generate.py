"""Regenerate the parts of docs/ that come from the code: the key tables of configuration.md.

    python docs/generate.py          rewrite them in place
    python docs/generate.py --check  exit 1 if they differ from the code (CI runs this as a test)

Each table sits between ``<!-- BEGIN GENERATED: config keys [section] -->`` and
``<!-- END GENERATED -->``; the prose around it is written by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from monitor.config import SCHEMA, reference_table
from monitor.settings import ARRAY_SECTIONS

PAGE = Path(__file__).parent / "configuration.md"
_REGION = re.compile(r"(<!-- BEGIN GENERATED: config keys (\[\[?\w+\]\]?) -->\n)(.*?)(<!-- END GENERATED -->)", re.S)


def _section(marker: str) -> str:
    return marker.strip("[]")


def generated(text: str) -> str:
    """``text`` with every config-keys region replaced by the table the code declares."""
    found = {_section(m.group(2)) for m in _REGION.finditer(text)}
    missing = [name for name in SCHEMA if name not in found]
    if missing:
        raise SystemExit(f"{PAGE}: no generated region for {', '.join(missing)}")
    return _REGION.sub(lambda m: m.group(1) + reference_table(_section(m.group(2))) + "\n" + m.group(4), text)


def main(argv: list[str]) -> int:
    text = PAGE.read_text(encoding="utf-8")
    new = generated(text)
    if "--check" in argv:
        if new != text:
            print(f"{PAGE} is out of date: run python docs/generate.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    print(f"wrote {PAGE} ({len(SCHEMA)} sections, {sum(map(len, SCHEMA.values()))} keys, {len(ARRAY_SECTIONS)} arrays)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
