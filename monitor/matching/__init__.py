"""Items -> Matches: the rule query language, rule packs, amounts, companies and the engine.

Public API::

    ruleset = load_rules(Path("rules"), rates=None)   # raises RuleErrors listing every problem
    ruleset.evaluate(item)                            # -> tuple[Match, ...]
    format_match(match)                               # -> multi-line explanation
"""

from monitor.matching.amounts import DEFAULT_RATES_USD, find_amounts
from monitor.matching.engine import RuleSet
from monitor.matching.explain import format_match
from monitor.matching.rounds import find_round
from monitor.matching.rulepack import Rule, load_rules

__all__ = ["DEFAULT_RATES_USD", "Rule", "RuleSet", "find_amounts", "find_round", "format_match", "load_rules"]
