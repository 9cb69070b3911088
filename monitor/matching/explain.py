"""Matches as text for people: used by ``monitor rules test`` and the console notifier."""

from __future__ import annotations

from monitor.model import Amount, Match


def format_usd(value: float) -> str:
    """``290000000`` -> ``$290M``; ``1.2e9`` -> ``$1.2B``."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"${value / scale:,.2f}".rstrip("0").rstrip(".") + suffix
    return f"${value:,.0f}"


def _amount(amount: Amount, largest: bool) -> str:
    text = amount.text
    if amount.currency != "USD":
        text += f" = {format_usd(amount.usd)}" if amount.usd is not None else f" (no rate for {amount.currency})"
    notes = [amount.kind] if amount.kind != "deal" else []
    if largest:
        notes.append("largest")
    return text + (f" [{', '.join(notes)}]" if notes else "")


def format_match(match: Match) -> str:
    """A multi-line account of why ``match`` fired: rule, terms with snippets, money, companies."""
    flags = [f"-> {match.channel}"] if match.channel else []
    if match.digest_only:
        flags.append("(digest only)")
    lines = [" ".join([f"[{match.priority}] {match.rule_id}: {match.rule_name}", *flags])]
    explanation = match.explanation
    for hit in explanation.hits:
        lines.append(f"  term      {hit.term} in {hit.field}: {hit.snippet}")
    if explanation.amounts:
        usd = explanation.largest_usd
        first = next((a for a in explanation.amounts if usd is not None and a.kind == "deal" and a.usd == usd), None)
        lines.append("  amounts   " + "; ".join(_amount(a, a is first) for a in explanation.amounts))
    if explanation.round:
        lines.append(f"  round     {explanation.round}")
    if explanation.companies:
        lines.append("  companies " + ", ".join(explanation.companies))
    return "\n".join(lines)
