"""Every query operator, against the engine (what users see), and every syntax error message."""

from __future__ import annotations

import pytest

from monitor.matching.query import And, Near, Not, Or, QuerySyntaxError, Term, parse

CASES = [
    # query, title, summary, content, feed, expected
    ("funding", "ShengShu lands new funding", "", "", "f", True),
    ("funding", "Fundings", "", "", "f", True),  # plural tolerance
    ("funding", "Refunding of bonds", "", "", "f", False),  # whole word
    ("world model AND funding", "World model startup funding", "", "", "f", True),
    ("world AND funding", "A world of money", "", "", "f", False),
    ("world model funding", "World model startup funding", "", "", "f", True),  # implicit AND
    ("robot OR drone", "Drone makers merge", "", "", "f", True),
    ("robot OR drone", "Nothing here", "", "", "f", False),
    ("robot NOT toy", "Robot for factories", "", "", "f", True),
    ("robot NOT toy", "Robot toy for kids", "", "", "f", False),
    ("robot AND NOT toy", "Robot", "", "toy robot", "f", False),
    ("NOT toy", "Anything else", "", "", "f", True),  # a NOT-only rule matches what lacks the term
    ("NOT toy", "A toy", "", "", "f", False),
    ("(robot OR drone) AND funding", "Drone funding", "", "", "f", True),
    ("robot OR drone AND funding", "Robot news", "", "", "f", True),  # AND binds tighter than OR
    ("(robot OR drone) AND funding", "Robot news", "", "", "f", False),
    ('"world model"', "A world model emerges", "", "", "f", True),
    ('"world model"', "World-model startups", "", "", "f", True),  # dash reads as space
    ('"world model"', "A model of the world", "", "", "f", False),
    ('"world models"', "A world model emerges", "", "", "f", True),  # plural written, singular found
    ("invest*", "Alibaba investment", "", "", "f", True),
    ("invest*", "Investors pile in", "", "", "f", True),
    ("invest*", "Reinvested profits", "", "", "f", False),  # left boundary still applies
    ('"world mod*"', "world modelling", "", "", "f", True),
    ('"world model" NEAR/3 funding', "world model startup gets big funding", "", "", "f", True),
    ('"world model" NEAR/2 funding', "funding news: a world model", "", "", "f", True),  # either order
    ('"world model" NEAR/1 funding', "world model startup gets big funding", "", "", "f", False),
    ("robot NEAR/5 funding", "robot", "funding", "", "f", False),  # NEAR needs the same field
    ("(veo OR genie) NEAR/2 (google OR deepmind)", "Google's new Genie model", "", "", "f", True),
    ("(veo OR genie) NEAR/2 (google OR deepmind)", "Veo sports cameras, and not Google", "", "", "f", False),
    ("title:funding", "", "funding", "", "f", False),
    ("title:funding", "funding", "", "", "f", True),
    ("title: funding", "funding", "", "", "f", True),
    ("summary:funding", "", "funding", "", "f", True),
    ("content:funding", "", "funding", "", "f", False),
    ("content:funding", "", "", "funding", "f", True),
    ("feed:techcrunch", "", "", "", "TechCrunch AI", True),
    ("techcrunch", "", "", "", "TechCrunch AI", False),  # unscoped terms ignore the feed name
    ("title:(robot OR drone)", "", "robot", "", "f", False),
    ("title:(robot OR drone)", "drone", "", "", "f", True),
    ("robot AND NOT title:toy", "robot", "", "toy", "f", True),  # NOT title:x allows x elsewhere
    ("STRASSE", "Die Straße", "", "", "f", True),  # full case folding
    ("\uff21\uff29", "new ai lab", "", "", "f", True),  # NFKC: full-width letters
    ("café", "Cafés reopen", "", "", "f", True),
    ("café", "Cafeteria", "", "", "f", False),
    ("生数科技", "阿里云领投生数科技新一轮融资", "", "", "f", True),  # CJK needs no boundary
    ("Alibaba", "阿里巴巴Alibaba云", "", "", "f", True),  # a CJK neighbour is a boundary
    ("and", "rock and roll", "", "", "f", True),  # lower-case keywords are ordinary words
    ('"series b"', "Closes Series B", "", "", "f", True),  # invariant noun: no "series b" plural
    ("news", "new", "", "", "f", False),
]


@pytest.mark.parametrize(
    ("query", "title", "summary", "content", "feed", "expected"),
    CASES,
    ids=[f"{c[0]}|{c[1] or c[2] or c[3] or c[4]}" for c in CASES],
)
def test_operator(one_rule, item, query, title, summary, content, feed, expected):
    ruleset = one_rule(query)
    matched = bool(ruleset.evaluate(item(title, summary, content, feed=feed)))
    assert matched is expected


def test_tree_shapes():
    tree = parse('a OR b c NOT d "x yard" NEAR/4 z').tree
    assert isinstance(tree, Or)
    left, right = tree.operands
    assert isinstance(left, Term) and left.text == "a"
    assert isinstance(right, And)
    _, _, not_d, near = right.operands
    assert isinstance(not_d, Not) and isinstance(near, Near)
    assert near.distance == 4 and near.left[0].forms == ("x yard", "x yards")
    assert near.text == '"x yard" NEAR/4 z'


def test_near_sides_may_be_groups_of_alternatives():
    near = parse("(veo OR genie) NEAR/3 (google OR deepmind)").tree
    assert isinstance(near, Near)
    assert [t.text for t in near.left] == ["veo", "genie"]
    assert [t.text for t in near.right] == ["google", "deepmind"]


def test_near_sides_open_nested_alternatives():
    """A fragment with vocabularies is an OR of ORs; as a side of NEAR it stands for all its terms."""
    near = parse("a NEAR/3 (b OR (c OR d))").tree
    assert isinstance(near, Near)
    assert [t.text for t in near.right] == ["b", "c", "d"]


def test_terms_carry_the_language_they_were_written_in():
    tree = parse('"levée de fonds" OR investit', lang="fr").tree
    assert [t.lang for t in tree.operands] == ["fr", "fr"]
    assert parse("funding").tree.lang is None


def test_term_keeps_its_position_and_fields():
    term = parse("  title:funding").tree
    assert isinstance(term, Term)
    assert term.offset == 8 and term.fields == ("title",)


NEAR_SIDE = "expected a term, a phrase or (x OR y ...) on each side of NEAR, not AND or NOT"
ERRORS = [
    ("", 0, "expected a query, found nothing"),
    ("robot AND", 9, "expected a term, phrase, @name, '(' or NOT, found end of query"),
    ("AND robot", 0, "expected a term, phrase, @name, '(' or NOT, found 'AND'"),
    ("robot OR OR drone", 9, "expected a term, phrase, @name, '(' or NOT, found 'OR'"),
    ("(robot OR drone", 15, "expected ')' to close the '(' at column 1, found end of query"),
    ("robot)", 5, "unexpected ')': there is no '(' for it to close"),
    ('"world model', 0, "unterminated phrase: expected a closing '\"'"),
    ('""', 0, "expected a word with letters or digits, found an empty phrase"),
    ("---", 0, "expected a word with letters or digits, found '---'"),
    ("robot NEAR drone", 6, "expected a distance after NEAR, e.g. NEAR/5"),
    ("robot NEAR/0 drone", 6, "expected a NEAR distance from 1 to 100, found 0"),
    ("robot NEAR/500 drone", 6, "expected a NEAR distance from 1 to 100, found 500"),
    ("(a AND b) NEAR/3 c", 0, NEAR_SIDE),
    ("a NEAR/3 NOT c", 9, NEAR_SIDE),
    ("a NEAR/3 (b OR (c AND d))", 9, NEAR_SIDE),
    ("a NEAR/3 (b OR title:c)", 2, "expected both sides of NEAR to search the same fields"),
    ("title:a NEAR/3 c", 8, "expected both sides of NEAR to search the same fields"),
    ("a NEAR/3 b NEAR/3 c", 11, "expected AND or OR between two NEAR clauses, found 'NEAR/3'"),
    ("in*vest", 2, "'*' is only allowed at the end of a term, as in invest*"),
    ('"in*vest"', 3, "'*' is only allowed at the end of a term, as in invest*"),
    ("ab*", 0, "expected at least 3 letters before '*' (a shorter prefix matches too much)"),
    ("body:robot", 0, "unknown field 'body': expected one of title, summary, content, feed"),
    ("title:", 6, "expected a term, phrase, @name or '(' after title:, found end of query"),
    ("title:NOT robot", 6, "expected a term, phrase, @name or '(' after title:, found 'NOT'"),
    ("title:(a OR summary:b)", 12, "expected no other field inside title:( ... )"),
]


@pytest.mark.parametrize(("query", "offset", "message"), ERRORS, ids=[e[2][:40] + "|" + e[0] for e in ERRORS])
def test_syntax_error(query, offset, message):
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert (caught.value.offset, caught.value.message) == (offset, message)
