"""The rule query language: tokenizer and parser with positions, and the compiled tree.

Grammar (keywords are upper case; lower-case ``and``/``or``/``not`` are ordinary words)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := near ("AND"? near)*            -- adjacent operands are ANDed
    near     := unary ("NEAR/" N unary)?       -- each side a term, phrase or (x OR y ...) of them
    unary    := "NOT" unary | scoped
    scoped   := (FIELD ":")? primary           -- FIELD is title, summary, content or feed
    primary  := "(" or_expr ")" | WORD | WORD* | "PHRASE" | "PHRASE*" | @NAME

``@NAME`` stands for a query fragment defined once in a rule pack's ``[define]`` table. The
fragment is parsed once and shared by reference, so the tree is a DAG: ``(@x OR @x)`` holds one
node twice. Evaluation walks it as a tree, so a fragment costs its size at every use; the
limits below count it that way, which bounds both compiling and evaluating any query.

Limits (each a :class:`QuerySyntaxError` at the place that passes it): at most ``MAX_DEPTH``
levels of ``(``, ``NOT`` and ``@NAME`` inside one another, a fragment's own levels counted where
it is used (so a chain of fragments, each using the one before, is limited too); at most
``MAX_TERMS`` terms in one query, a fragment's terms counted at every use. The parser recurses a
few frames per parenthesis (a chain of NOTs is a loop), so the depth limit also keeps it far
from Python's recursion limit.

What the tree means is written once, at the top of ``engine.py``. Every syntax error carries
the 0-based offset in the query where something else was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import cast

from monitor.matching.text import fold, inflections
from monitor.model import TextField

FIELDS: tuple[TextField, ...] = ("title", "summary", "content", "feed")
DEFAULT_FIELDS: tuple[TextField, ...] = ("title", "summary", "content")
MAX_NEAR = 100
MIN_PREFIX = 3
MAX_DEPTH = 64  # levels of (, NOT and @name inside one another, with @names written out
MAX_TERMS = 5000  # terms in one query, with @names written out (the default pack's largest: ~1,600)


class QuerySyntaxError(ValueError):
    """A query that does not parse; ``offset`` is where in the query it went wrong."""

    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        self.message = message
        super().__init__(f"offset {offset}: {message}")


@dataclass(frozen=True, slots=True)
class Term:
    """A word, phrase or prefix to find, in the given fields."""

    text: str  # as written, for explanations: invest*, "world model"
    forms: tuple[str, ...]  # folded forms to look for (singular and plural)
    prefix: bool  # True for invest*: the last word may continue
    fields: tuple[TextField, ...]
    offset: int
    lang: str | None = None  # the [vocabulary.LANG] table it was written in


@dataclass(frozen=True, slots=True)
class Near:
    """Any term of ``left`` within ``distance`` words of any term of ``right``, in one field."""

    left: tuple[Term, ...]
    right: tuple[Term, ...]
    distance: int  # at most this many words between the two
    text: str  # as written, for explanations

    @property
    def lang(self) -> str | None:
        return next((term.lang for term in (*self.left, *self.right) if term.lang), None)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node = Term | Near | Not | And | Or


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed query or ``[define]`` fragment, with its size as the limits count it."""

    tree: Node
    terms: int  # terms, each @name's counted at every use
    depth: int  # deepest level of (, NOT and @name, each @name's own levels included
    uses: frozenset[str] = frozenset()  # the @names it uses


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word, phrase, lparen, rparen, and, or, not, near, field, end
    text: str
    offset: int
    value: int = 0  # NEAR distance


_NEAR = re.compile(r"NEAR(?:/(\d*))?")
_FIELD = re.compile(r"([A-Za-z_]+):")
_REF = re.compile(r"@[A-Za-z_][A-Za-z0-9_-]*")
_BARE = re.compile(r"[^\s()\"]+")


def _tokens(query: str) -> Iterator[_Token]:
    pos = 0
    while True:
        while pos < len(query) and query[pos].isspace():
            pos += 1
        if pos == len(query):
            yield _Token("end", "", pos)
            return
        ch = query[pos]
        if ch in "()":
            yield _Token("lparen" if ch == "(" else "rparen", ch, pos)
            pos += 1
            continue
        if ch == '"':
            close = query.find('"', pos + 1)
            if close < 0:
                raise QuerySyntaxError(pos, "unterminated phrase: expected a closing '\"'")
            end = close + 1
            if end < len(query) and query[end] == "*":
                end += 1
            yield _Token("phrase", query[pos:end], pos)
            pos = end
            continue
        ref = _REF.match(query, pos)
        if ref:
            yield _Token("ref", ref.group(), pos)
            pos = ref.end()
            continue
        field = _FIELD.match(query, pos)
        if field:
            name = field.group(1)
            if name not in FIELDS:
                raise QuerySyntaxError(pos, f"unknown field '{name}': expected one of {', '.join(FIELDS)}")
            yield _Token("field", name, pos)
            pos = field.end()
            continue
        word = _BARE.match(query, pos)
        assert word is not None  # pos is at a non-space char that is not ( ) or "
        text = word.group()
        near = _NEAR.fullmatch(text)
        if text in ("AND", "OR", "NOT"):
            yield _Token(text.lower(), text, pos)
        elif near:
            if not near.group(1):
                raise QuerySyntaxError(pos, "expected a distance after NEAR, e.g. NEAR/5")
            digits = near.group(1).lstrip("0") or "0"
            if len(digits) > len(str(MAX_NEAR)) or not 1 <= int(digits) <= MAX_NEAR:  # int() of 5,000 digits fails
                found = digits if len(digits) <= 10 else f"a number of {len(digits)} digits"
                raise QuerySyntaxError(pos, f"expected a NEAR distance from 1 to {MAX_NEAR}, found {found}")
            distance = int(digits)
            yield _Token("near", text, pos, distance)
        else:
            yield _Token("word", text, pos)
        pos = word.end()


def _term(token: _Token, fields: tuple[TextField, ...], lang: str | None) -> Term:
    raw = token.text
    body, body_offset, prefix = raw, token.offset, False
    if token.kind == "phrase":
        prefix = raw.endswith("*")  # "world mod"*
        body, body_offset = raw[1 : -2 if prefix else -1], token.offset + 1
    if body.endswith("*"):  # invest* and "world mod*"
        body, prefix = body[:-1], True
    star = body.find("*")
    if star >= 0:
        raise QuerySyntaxError(body_offset + star, "'*' is only allowed at the end of a term, as in invest*")
    folded = fold(body)
    if not any(ch.isalnum() for ch in folded):
        what = "an empty phrase" if token.kind == "phrase" else f"'{raw}'"
        raise QuerySyntaxError(token.offset, f"expected a word with letters or digits, found {what}")
    if prefix and len(folded.rpartition(" ")[2]) < MIN_PREFIX:
        raise QuerySyntaxError(
            token.offset,
            f"expected at least {MIN_PREFIX} letters before '*' (a shorter prefix matches too much)",
        )
    forms = (folded,) if prefix else inflections(folded)
    return Term(raw, forms, prefix, fields, token.offset, lang)


class _Parser:
    def __init__(self, query: str, definitions: Mapping[str, Parsed], lang: str | None) -> None:
        self.query = query
        self.definitions = definitions
        self.lang = lang
        self.tokens = list(_tokens(query))
        self.index = 0
        self.depth = 0  # levels open at the current token
        self.deepest = 0
        self.terms = 0
        self.uses: set[str] = set()

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, expected: str) -> QuerySyntaxError:
        token = self.current
        found = "end of query" if token.kind == "end" else repr(token.text)
        return QuerySyntaxError(token.offset, f"expected {expected}, found {found}")

    def parse(self) -> Parsed:
        if self.current.kind == "end":
            raise QuerySyntaxError(0, "expected a query, found nothing")
        node = self.or_expr(None)
        if self.current.kind == "rparen":
            raise QuerySyntaxError(self.current.offset, "unexpected ')': there is no '(' for it to close")
        assert self.current.kind == "end"  # and_expr stops only at OR, ')' or the end; near() at NEAR
        return Parsed(node, self.terms, self.deepest, frozenset(self.uses))

    def enter(self, token: _Token, inner: Parsed | None = None) -> None:
        """Open a level at ``token`` (a '(', a NOT or an @name, whose own levels count too)."""
        self.depth += 1
        deepest = self.depth + (inner.depth if inner else 0)
        if deepest > MAX_DEPTH:
            written_out = f" ({token.text} nests {inner.depth} deep itself)" if inner else ""
            raise QuerySyntaxError(
                token.offset,
                f"expected at most {MAX_DEPTH} levels of '(', NOT and @name inside one another, "
                f"found {deepest} here{written_out}; flatten the query",
            )
        self.deepest = max(self.deepest, deepest)

    def count(self, token: _Token, terms: int) -> None:
        """Add the terms at ``token`` (a term, or an @name standing for its fragment's)."""
        self.terms += terms
        if self.terms > MAX_TERMS:
            each = f" ({token.text} has {terms})" if token.kind == "ref" else ""
            raise QuerySyntaxError(
                token.offset,
                f"expected at most {MAX_TERMS} terms in one query (an @name counts its terms at every use), "
                f"found {self.terms} by here{each}; split the query",
            )

    def or_expr(self, field: TextField | None) -> Node:
        operands = [self.and_expr(field)]
        while self.current.kind == "or":
            self.advance()
            operands.append(self.and_expr(field))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self, field: TextField | None) -> Node:
        operands = [self.near(field)]
        while True:
            if self.current.kind == "and":
                self.advance()
            elif self.current.kind not in ("word", "phrase", "lparen", "not", "field", "ref"):
                break
            operands.append(self.near(field))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def near(self, field: TextField | None) -> Node:
        left_token = self.current
        left = self.unary(field)
        if self.current.kind != "near":
            return left
        operator = self.advance()
        right_token = self.current
        right = self.unary(field)
        sides = []
        for side, token in ((left, left_token), (right, right_token)):
            terms = (side,) if isinstance(side, Term) else _alternatives(side)
            if not terms:
                raise QuerySyntaxError(
                    token.offset,
                    "expected a term, a phrase or (x OR y ...) on each side of NEAR, not AND or NOT",
                )
            sides.append(terms)
        if len({term.fields for terms in sides for term in terms}) > 1:
            raise QuerySyntaxError(operator.offset, "expected both sides of NEAR to search the same fields")
        if self.current.kind == "near":
            raise self.fail("AND or OR between two NEAR clauses")
        last = self.tokens[self.index - 1]
        return Near(sides[0], sides[1], operator.value, self.query[left_token.offset : last.offset + len(last.text)])

    def unary(self, field: TextField | None) -> Node:
        nots = 0
        while self.current.kind == "not":  # a loop, not a recursion: NOT NOT ... x is a chain
            self.enter(self.advance())
            nots += 1
        node = self.scoped(field)
        self.depth -= nots
        return Not(node) if nots % 2 else node  # NOT NOT x is x: a chain adds no nodes

    def scoped(self, field: TextField | None) -> Node:
        if self.current.kind == "field":
            token = self.advance()
            if field is not None and token.text != field:
                raise QuerySyntaxError(token.offset, f"expected no other field inside {field}:( ... )")
            field = token.text  # type: ignore[assignment]
            if self.current.kind not in ("word", "phrase", "lparen", "ref"):
                raise self.fail(f"a term, phrase, @name or '(' after {token.text}:")
        token = self.current
        if token.kind == "lparen":
            self.enter(self.advance())
            node = self.or_expr(field)
            if self.current.kind != "rparen":
                raise self.fail(f"')' to close the '(' at column {token.offset + 1}")
            self.advance()
            self.depth -= 1
            return node
        if token.kind in ("word", "phrase"):
            self.advance()
            fields = (field,) if field else DEFAULT_FIELDS
            term = _term(token, fields, self.lang)
            self.count(token, 1)
            return term
        if token.kind == "ref":
            self.advance()
            name = token.text[1:]
            if name not in self.definitions:
                raise QuerySyntaxError(token.offset, f"unknown name '{token.text}': define it in a [define] table")
            fragment = self.definitions[name]
            self.uses.add(name)
            self.enter(token, fragment)
            self.depth -= 1
            self.count(token, fragment.terms)
            node = fragment.tree
            if field is None:
                return node
            try:
                return _rescope(node, field)
            except ValueError as e:
                raise QuerySyntaxError(token.offset, f"{token.text} cannot be limited to {field}: {e}") from None
        raise self.fail("a term, phrase, @name, '(' or NOT")


def _rescope(node: Node, field: TextField) -> Node:
    """``node`` with its unscoped terms limited to ``field`` (for ``title:@name``)."""
    match node:
        case Term(fields=fields):
            if fields == DEFAULT_FIELDS:
                return replace(node, fields=(field,))
            if fields != (field,):
                raise ValueError(f"its term {node.text} already searches {fields[0]}")
            return node
        case Near(left, right):
            return replace(
                node,
                left=tuple(cast(Term, _rescope(t, field)) for t in left),  # a term stays a term
                right=tuple(cast(Term, _rescope(t, field)) for t in right),
            )
        case Not(operand):
            return Not(_rescope(operand, field))
        case And(operands):
            return And(tuple(_rescope(o, field) for o in operands))
        case Or(operands):
            return Or(tuple(_rescope(o, field) for o in operands))
    raise AssertionError(node)


def _alternatives(node: Node) -> tuple[Term, ...]:
    """The terms of ``(x OR y ...)`` (ORs nested, as in a fragment with vocabularies, are opened)
    when every operand is a term, else nothing."""
    if not isinstance(node, Or):
        return ()
    terms: list[Term] = []
    for operand in node.operands:
        if isinstance(operand, Term):
            terms.append(operand)
        elif inner := _alternatives(operand):
            terms.extend(inner)
        else:
            return ()
    return tuple(terms)


def parse(query: str, definitions: Mapping[str, Parsed] | None = None, lang: str | None = None) -> Parsed:
    """Parse a query into its tree; ``@name`` stands for ``definitions[name]``, shared; the terms
    written in it carry ``lang`` (a ``[vocabulary.LANG]`` fragment's language).

    Raises :class:`QuerySyntaxError`, for the limits too.
    """
    return _Parser(query, definitions or {}, lang).parse()


def atoms(node: Node, positive: bool = True) -> Iterator[tuple[Term | Near, bool]]:
    """Every term and NEAR clause in the tree, with False when it sits under an odd number of NOTs."""
    match node:
        case Term() | Near():
            yield node, positive
        case Not(operand):
            yield from atoms(operand, not positive)
        case And(operands) | Or(operands):
            for operand in operands:
                yield from atoms(operand, positive)
