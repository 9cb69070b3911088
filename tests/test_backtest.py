"""The backtest report: per rule, per local day, with counts and titles. Pure, no I/O but the pack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.cli import backtest_view as backtest
from monitor.matching import load_rules
from monitor.model import Item

SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def item(n: int, title: str, seen: datetime) -> Item:
    return Item("Wire", f"g{n}", f"https://n.example/{n}", title, "", "", seen, seen, f"fp{n}")


def test_days_are_local_and_long_days_are_cut(tmp_path: Path) -> None:
    (tmp_path / "pack.toml").write_text(
        '[[rule]]\nid = "robots"\nname = "Robots"\nquery = "robot*"\n'
        '[[rule]]\nid = "off"\nname = "Off"\nquery = "robot*"\nenabled = false\n',
        encoding="utf-8",
    )
    rules = load_rules(tmp_path)
    late = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # already the 21st in Shanghai
    items = [item(n, f"Robot story {n}", late + timedelta(minutes=n)) for n in range(7)]
    items.append(item(9, "Robots again", late - timedelta(hours=13)))  # the 20th there too
    items.append(item(10, "Trams", late))
    report = backtest.run(rules, items, SINCE, ZoneInfo("Asia/Shanghai"))
    assert (report.items, report.matched_items, report.alerting_items) == (9, 8, 8)
    assert backtest.render(report, titles_per_day=5) == [
        "robots  Robots  [normal]: 8 alerts on 2 days",
        "  2026-11-20    1  Robots again (Wire)",
        "  2026-11-21    7  Robot story 0 (Wire)",
        *[" " * 19 + f"  Robot story {n} (Wire)" for n in range(1, 5)],
        " " * 19 + "  … and 2 more",
        "off  Off  [normal, disabled]: 0 alerts on 0 days",
        "9 items since 2026-11-01 00:00 UTC: 8 matched a rule, 8 would alert, 0 digest only",
    ]
