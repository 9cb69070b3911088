"""Numbers and durations as people write them: "1 story", "3 stories", "15m", "1h30m"."""

from __future__ import annotations

from datetime import timedelta


def plural(count: int, one: str, many: str | None = None) -> str:
    """``plural(1, "feed")`` -> "1 feed"; ``plural(3, "story", "stories")`` -> "3 stories"."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def duration(value: timedelta) -> str:
    """A duration in the config's own notation: "90s", "15m", "1h30m", "2d" (whole seconds)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)
