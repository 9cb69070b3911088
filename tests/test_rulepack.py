"""Loading rule packs: every field, every error message, all problems reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RuleErrors
from monitor.matching import load_rules


def problems(path: Path) -> list[str]:
    with pytest.raises(RuleErrors) as caught:
        load_rules(path)
    return [str(p) for p in caught.value.problems]


def test_full_rule_loads_with_every_field(write_pack, rules_dir):
    write_pack("""
        [[rule]]
        id = "wm-deals"
        name = "World-model deals"
        query = '"world model" AND invest*'
        priority = "high"
        channel = "#deals"
        min_amount_usd = 10_000_000
        companies_any = ["alibaba cloud", "Tencent"]
        companies_all = ["ShengShu"]
        company_tags_any = ["investor"]
        digest_only = true
        enabled = false
    """)
    (rule,) = load_rules(rules_dir).rules
    assert (rule.id, rule.name, rule.priority, rule.channel) == (
        "wm-deals",
        "World-model deals",
        "high",
        "#deals",
    )
    assert rule.query == '"world model" AND invest*'
    assert rule.min_amount_usd == 10_000_000.0
    assert rule.companies_any == ("Alibaba", "Tencent")  # aliases resolve to canonical names
    assert rule.companies_all == ("ShengShu",)
    assert rule.company_tags_any == ("investor",)
    assert (rule.digest_only, rule.enabled) == (True, False)
    assert rule.file == str(rules_dir / "pack.toml") and rule.line == 1


def test_defaults(write_pack, rules_dir):
    write_pack('[[rule]]\nid = "a"\nquery = "robot"\n')
    (rule,) = load_rules(rules_dir).rules
    assert (rule.name, rule.priority, rule.channel, rule.min_amount_usd) == ("a", "normal", None, 0.0)
    assert (rule.companies_any, rule.companies_all, rule.company_tags_any) == ((), (), ())
    assert (rule.digest_only, rule.enabled) == (False, True)


def test_packs_load_in_file_order_and_entities_is_not_a_pack(write_pack, rules_dir):
    write_pack('[[rule]]\nid = "b"\nquery = "robot"\n', name="b.toml")
    write_pack('[[rule]]\nid = "a"\nquery = "robot"\n', name="a.toml")
    assert [r.id for r in load_rules(rules_dir).rules] == ["a", "b"]
    assert [r.id for r in load_rules(rules_dir / "b.toml").rules] == ["b"]  # one file also works


def test_bad_query_reports_line_and_column(write_pack, rules_dir):
    path = write_pack("""
        [[rule]]
        id = "a"
        name = "A"
        query = "robot AND (drone OR"
    """)
    assert problems(rules_dir) == [
        f"{path}:4: column 20: rule 'a': query: expected a term, phrase, @name, '(' or NOT, found end of query"
    ]


def test_bad_multiline_query_reports_the_line_inside_the_string(write_pack, rules_dir):
    path = write_pack("""
        [[rule]]
        id = "a"
        query = '''
          "world model"
          AND (raise* OR NEAR/3 funding)
        '''
    """)
    assert problems(rules_dir) == [
        f"{path}:5: column 18: rule 'a': query: expected a term, phrase, @name, '(' or NOT, found 'NEAR/3'"
    ]


def test_every_problem_is_reported_at_once(write_pack, rules_dir):
    first = write_pack(
        """
        [[rule]]
        id = "dup"
        query = "robot"

        [[rule]]
        id = "dup"
        query = "robot"
        priority = "urgent"
        chanel = "#x"
        min_amount_usd = -5
        digest_only = "yes"
        companies_any = ["Acme Robotics"]
        company_tags_any = ["unicorn"]

        [[rule]]
        query = "robot )"
        enabled = 1

        [[rule]]
        id = "bad id!"
        query = "NOT"
        channel = " "
        companies_all = "ShengShu"

        [[rule]]
        id = "empty-list-item"
        query = "robot"
        companies_any = [""]
    """,
        name="a.toml",
    )
    second = write_pack("rule = 5\nextra = 1\n", name="b.toml")
    third = write_pack('[[rule]]\nid = "x"\nquery = "a" "b"\n', name="c.toml")
    assert problems(rules_dir) == [  # sorted by file and line
        f"{first}:6: rule 'dup': id: duplicate; first defined at {first}:2",
        f"{first}:8: rule 'dup': priority: expected one of high, normal, low, found 'urgent'",
        f"{first}:9: rule: unknown key 'chanel' (did you mean 'channel'?); expected one of id, name, "
        "query, priority, channel, min_amount_usd, companies_any, companies_all, company_tags_any, "
        "digest_only, enabled",
        f"{first}:10: rule 'dup': min_amount_usd: expected 0 or more, a finite number of US dollars, found -5",
        f"{first}:11: rule 'dup': digest_only: expected true or false, found 'yes'",
        f"{first}:12: rule 'dup': companies_any: unknown company 'Acme Robotics'; add it to entities.toml or "
        "fix the spelling",
        f"{first}:13: rule 'dup': company_tags_any: no company in entities.toml has the tag 'unicorn'",
        f"{first}:15: rule: id: missing; every rule needs a unique id",
        f"{first}:16: column 7: rule: query: unexpected ')': there is no '(' for it to close",
        f"{first}:17: rule: enabled: expected true or false, found 1",
        f"{first}:20: rule: id: expected letters, digits, '-', '_' or '.', found 'bad id!'",
        f"{first}:21: column 4: rule 'bad id!': query: expected a term, phrase, @name, '(' or NOT, found end of query",
        f"{first}:22: rule 'bad id!': channel: expected a channel name, e.g. #alerts",
        f"{first}:23: rule 'bad id!': companies_all: expected a list, found 'ShengShu'",
        f"{first}:28: rule 'empty-list-item': companies_any: expected a list of non-empty strings",
        f"{second}: unknown top-level key 'extra': expected only [[rule]] tables, [define] and [vocabulary.LANG]",
        f"{second}: expected 'rule' to be [[rule]] tables",
        f"{third}:3: column 13: invalid TOML: Expected newline or end of document after a statement",
    ]


def test_missing_query_and_wrong_types(write_pack, rules_dir):
    path = write_pack('[[rule]]\nid = "a"\n\n[[rule]]\nid = "b"\nquery = 3\nname = ["x"]\n')
    assert problems(rules_dir) == [
        f"{path}:1: rule 'a': query: missing; every rule needs a query",
        f"{path}:4: rule 'b': query: missing; every rule needs a query",
        f"{path}:6: rule 'b': query: expected a string, found 3",
        f"{path}:7: rule 'b': name: expected a string, found ['x']",
    ]


def test_entities_file_is_validated(rules_dir, write_pack):
    entities = rules_dir / "entities.toml"
    entities.write_text(
        'version = 1\n[[company]]\nname = "A"\naliases = ["Same"]\n\n'
        '[[company]]\nname = "B"\naliases = ["same"]\nticker = "B"\n\n'
        '[[company]]\naliases = ["C"]\n',
        encoding="utf-8",
    )
    write_pack('[[rule]]\nid = "a"\nquery = "robot"\n')
    assert problems(rules_dir) == [
        f"{entities}: unknown top-level key 'version': expected only one [shared] table and [[company]] tables",
        f"{entities}:8: company 'B': 'same' already names company 'A'",
        f"{entities}:9: company: unknown key 'ticker'; expected one of name, aliases, tags, ambiguous, context, "
        "exclude, shared_context",
        f"{entities}:11: company: name: expected a non-empty string (the canonical name)",
    ]


def test_ambiguous_names_load_with_their_context(rules_dir, write_pack):
    (rules_dir / "entities.toml").write_text(
        '[shared]\ncontext = ["robot"]\n\n'
        '[[company]]\nname = "Runway AI"\naliases = ["RunwayML"]\nambiguous = ["Runway"]\n'
        'context = ["Gen-4"]\nexclude = ["airport"]\ntags = ["video"]\n\n'
        '[[company]]\nname = "Humanoid"\nambiguous = ["Humanoid"]\ncontext = ["HMND 01"]\nshared_context = false\n',
        encoding="utf-8",
    )
    write_pack('[[rule]]\nid = "a"\nquery = "x"\ncompanies_any = ["runway", "humanoid"]\n')
    ruleset = load_rules(rules_dir)
    runway, humanoid = ruleset.companies.companies
    assert (runway.ambiguous, runway.context, runway.exclude, runway.shared_context) == (
        ("Runway",),
        ("Gen-4",),
        ("airport",),
        True,
    )
    assert humanoid.shared_context is False
    assert ruleset.companies.shared_context == ("robot",)
    assert ruleset.rules[0].companies_any == ("Runway AI", "Humanoid")  # ambiguous names resolve


def test_ambiguous_names_are_validated(rules_dir, write_pack):
    entities = rules_dir / "entities.toml"
    entities.write_text(
        '[shared]\ncontext = "AI"\nwords = []\n\n'
        '[[company]]\nname = "A"\naliases = ["Apex"]\nambiguous = ["apex", "Bee"]\ncontext = ["x"]\n\n'
        '[[company]]\nname = "B"\nambiguous = ["bee"]\nshared_context = false\n\n'
        '[[company]]\nname = "C"\ncontext = ["x"]\nexclude = ["y"]\nshared_context = "no"\n',
        encoding="utf-8",
    )
    write_pack('[[rule]]\nid = "a"\nquery = "robot"\n')
    assert problems(entities.parent) == [
        f"{entities}:2: shared: context: expected a list, found 'AI'",
        f"{entities}:3: shared: unknown key 'words'; expected context",
        f"{entities}:8: company 'A': 'Apex' is both an alias and ambiguous; keep it in ambiguous only",
        f"{entities}:13: company 'B': 'bee' already names company 'A'",
        f"{entities}:13: company 'B': ambiguous: no context could vouch for these names; add context words",
        f"{entities}:18: company 'C': context: only applies to ambiguous names; list some",
        f"{entities}:19: company 'C': exclude: only applies to ambiguous names; list some",
        f"{entities}:20: company 'C': shared_context: expected true or false, found 'no'",
    ]


def test_no_packs(tmp_path):
    assert problems(tmp_path) == [f"{tmp_path}: no rule packs found: expected a directory of *.toml files or one"]
    assert problems(tmp_path / "missing.toml")[0].startswith(f"{tmp_path / 'missing.toml'}: no rule packs")


def test_unreadable_file(write_pack, rules_dir):
    path = rules_dir / "latin1.toml"
    path.write_bytes(b'[[rule]]\nid = "caf\xe9"\n')
    assert problems(rules_dir)[0].startswith(f"{path}: cannot read the file: 'utf-8' codec can't decode")


def test_rates_override_defaults(write_pack, rules_dir):
    write_pack('[[rule]]\nid = "a"\nquery = "robot"\n')
    ruleset = load_rules(rules_dir, rates={"cny": 0.15})
    assert ruleset.rates["CNY"] == 0.15 and ruleset.rates["USD"] == 1.0


def test_definitions_are_shared_by_all_packs_and_can_be_scoped(write_pack, rules_dir, item):
    write_pack(
        """
        [define]
        money = 'funding OR invest*'
        stock = '"price target" OR shares'
        """,
        name="a.toml",
    )
    write_pack(
        """
        [define]
        deal = '@money AND NOT title:@stock'

        [[rule]]
        id = "deals"
        query = '"world model" AND @deal'
        """,
        name="b.toml",
    )
    ruleset = load_rules(rules_dir)
    assert ruleset.evaluate(item("World model startup gets funding"))
    assert not ruleset.evaluate(item("World model funding lifts shares"))
    assert ruleset.evaluate(item("World model funding", "shares rose"))  # title:@stock only looks at titles


def test_definition_errors(write_pack, rules_dir):
    path = write_pack(
        """
        [define]
        money = 'funding OR'
        deal = '@nothing AND x'
        scoped = 'title:x'
        wrong = 'summary:@scoped'
        3d = 5
        "bad name" = 'x'

        [[rule]]
        id = "a"
        query = '@deal AND @money'
        [[rule]]
        id = "b"
        query = '@undefined'
        """
    )
    assert problems(rules_dir) == [
        f"{path}:2: column 11: define: money: expected a term, phrase, @name, '(' or NOT, found end of query",
        f"{path}:3: column 1: define: deal: unknown name '@nothing': define it in a [define] table",
        f"{path}:5: column 9: define: wrong: @scoped cannot be limited to summary: its term x already searches title",
        f"{path}:6: define: 3d: expected a name of letters, digits, '_' and '-'",
        f"{path}:7: define: bad name: expected a name of letters, digits, '_' and '-'",
        f"{path}:14: column 1: rule 'b': query: unknown name '@undefined': define it in a [define] table",
    ]  # rule 'a' uses broken fragments: they are reported once, where they are defined


def test_more_definition_and_type_errors(write_pack, rules_dir, item):
    first = write_pack("[define]\nnear = 'robot NEAR/2 funding'\ncount = 5\n", name="a.toml")
    second = write_pack(
        """
        [define]
        near = 'x'

        [[rule]]
        id = "a"
        query = 'title:@near'
        min_amount_usd = "lots"
        """,
        name="b.toml",
    )
    third = write_pack("define = 5\n", name="c.toml")
    assert problems(rules_dir) == [
        f"{first}:3: define: count: expected a query string, found 5",
        f"{second}:2: define: near: already defined; names are shared by all packs",
        f"{second}:7: rule 'a': min_amount_usd: expected a number, found 'lots'",
        f"{third}: expected 'define' to be a [define] table",
    ]


def test_a_field_limits_a_near_fragment(write_pack, rules_dir, item):
    write_pack("[define]\nnear = 'robot NEAR/2 funding'\n\n[[rule]]\nid = \"a\"\nquery = 'title:@near'\n")
    ruleset = load_rules(rules_dir)
    assert ruleset.evaluate(item("robot startup funding"))
    assert not ruleset.evaluate(item("news", "robot startup funding"))


def test_vocabularies_add_a_language_to_a_fragment_and_explanations_name_it(write_pack, rules_dir, item):
    write_pack(
        """
        [define]
        field = '"humanoid robot"'
        deal = 'funding'

        [vocabulary.fr]
        field = '"robot humanoïde"'
        deal = '"levée de fonds"'

        [vocabulary.zh]
        deal = '融资 OR 领投'
        field = '人形机器人'

        [[rule]]
        id = "deals"
        query = '@field AND @deal'
        """
    )
    ruleset = load_rules(rules_dir)
    (match,) = ruleset.evaluate(item("Levée de fonds pour un robot humanoïde"))
    hits = [(h.term, h.lang) for h in match.explanation.hits]
    assert hits == [('"robot humanoïde"', "fr"), ('"levée de fonds"', "fr")]
    assert match.explanation.languages == ("fr",)
    (match,) = ruleset.evaluate(item("人形机器人公司完成融资", "A humanoid robot maker"))
    assert [h.lang for h in match.explanation.hits] == [None, "zh"]  # the first true branch of @field: [define]
    assert ruleset.evaluate(item("Humanoid robot funding"))[0].explanation.languages == ()


def test_a_name_only_vocabularies_define_comes_before_the_define_table(write_pack, rules_dir, item):
    write_pack(
        """
        [define]
        field = '"world model" AND @money'

        [vocabulary.de]
        money = 'Finanzierungsrunde'

        [vocabulary.es]
        money = '"ronda de financiación"'

        [[rule]]
        id = "a"
        query = '@field'
        """
    )
    ruleset = load_rules(rules_dir)
    assert ruleset.evaluate(item("World model: Finanzierungsrunde"))
    assert ruleset.evaluate(item("World model", "ronda de financiación"))
    assert not ruleset.evaluate(item("World model"))


def test_vocabulary_errors(write_pack, rules_dir):
    path = write_pack(
        """
        [define]
        field = 'robot'

        [vocabulary.French]
        field = 'robots'

        [vocabulary.fr]
        field = 'robot OR'
        count = 5
        """
    )
    flat = write_pack("[vocabulary]\nfield = 'x'\n", name="b.toml")
    assert problems(rules_dir) == [
        f"{flat}: expected 'vocabulary' to be [vocabulary.LANG] tables, e.g. [vocabulary.fr]",
        f"{path}:4: vocabulary.French: expected a language code of 2 or 3 lower-case letters",
        f"{path}:8: column 9: vocabulary.fr: field: expected a term, phrase, @name, '(' or NOT, found end of query",
        f"{path}:9: vocabulary.fr: count: expected a query string, found 5",
    ]
