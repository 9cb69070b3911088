"""Matches as text for people: used by ``monitor rules test`` and the console notifier."""

from __future__ import annotations

from monitor.model import Amount, Match, format_usd


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
        lang = f" ({hit.lang})" if hit.lang else ""
        lines.append(f"  term      {hit.term}{lang} in {hit.field}: {hit.snippet}")
    if explanation.deal:
        lines.append(f"  deal      {explanation.deal.line()}")
    if explanation.other_deals:
        lines.append("  also      " + "; ".join(d.short() for d in explanation.other_deals))
    if explanation.amounts:
        usd = explanation.largest_usd
        first = next((a for a in explanation.amounts if usd is not None and a.kind == "deal" and a.usd == usd), None)
        lines.append("  amounts   " + "; ".join(_amount(a, a is first) for a in explanation.amounts))
    if explanation.round:
        lines.append(f"  round     {explanation.round}")
    if explanation.companies:
        lines.append("  companies " + ", ".join(explanation.companies))
    return "\n".join(lines)
