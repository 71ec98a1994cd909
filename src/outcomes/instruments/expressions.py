"""The ``show_if`` language: a tiny, safe boolean expression language over earlier answers.

Grammar (keywords are lower case; identifiers are question ids)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                          | ["not"] "in" "[" [literal ("," literal)*] "]" ]
    operand    := literal | IDENT | "answered" "(" IDENT ")" | "(" expr ")"
    literal    := STRING | NUMBER | "true" | "false"

A hand-written recursive-descent parser: nothing is ever passed to ``eval``. Evaluation never
raises: a comparison involving an unanswered question, or values of different kinds, is
false (so ``not (q == "x")`` is true while ``q`` is unanswered — use ``answered(q)`` to say
more). A bare operand is true only when it is the boolean ``true`` (a yes/no answer).
For a multiple-choice answer (a list), ``q in [...]`` is true when any selected code is listed
and ``q == "x"`` when ``"x"`` is among the selected codes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from outcomes.errors import ValidationProblem


class ExpressionError(ValidationProblem):
    """A ``show_if`` expression that cannot be parsed."""


Scalar = str | float | int | bool


@dataclass(frozen=True)
class Literal:
    value: Scalar


@dataclass(frozen=True)
class Name:
    question_id: str


@dataclass(frozen=True)
class Answered:
    question_id: str


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class InList:
    operand: Node
    values: tuple[Scalar, ...]
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


Node = Literal | Name | Answered | Compare | InList | Not | BoolOp

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "answered"}
_COMPARATORS = {"==", "!=", "<", "<=", ">", ">="}
MAX_EXPRESSION_LENGTH = 2000
_MAX_DEPTH = 50


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenise(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {source[pos]!r} at position {pos + 1}")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "ident" and text in _KEYWORDS:
            kind = "keyword"
        if kind != "ws":
            tokens.append(_Token(kind, text, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenise(source)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _accept(self, text: str) -> bool:
        if self.current.kind in {"op", "keyword"} and self.current.text == text:
            self.index += 1
            return True
        return False

    def _expect(self, text: str) -> None:
        if not self._accept(text):
            raise self._error(f"expected '{text}'")

    def _error(self, what: str) -> ExpressionError:
        token = self.current
        found = "the end" if token.kind == "end" else repr(token.text)
        return ExpressionError(f"{what} at position {token.pos + 1}, found {found}")

    def parse(self) -> Node:
        node = self._or()
        if self.current.kind != "end":
            raise self._error("expected 'and', 'or' or the end of the condition")
        return node

    def _or(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self._error("condition nested too deeply")
        operands = [self._and()]
        while self._accept("or"):
            operands.append(self._and())
        self.depth -= 1
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def _and(self) -> Node:
        operands = [self._not()]
        while self._accept("and"):
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def _not(self) -> Node:
        if self._accept("not"):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self._error("condition nested too deeply")
            node = Not(self._not())
            self.depth -= 1
            return node
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._operand()
        token = self.current
        if token.kind == "op" and token.text in _COMPARATORS:
            self._advance()
            return Compare(token.text, left, self._operand())
        if token.kind == "keyword" and token.text == "not":
            if self.tokens[self.index + 1].text != "in":
                raise self._error("expected 'in' after 'not'")
            self.index += 2
            return InList(left, self._list(), negated=True)
        if self._accept("in"):
            return InList(left, self._list(), negated=False)
        return left

    def _list(self) -> tuple[Scalar, ...]:
        self._expect("[")
        values: list[Scalar] = []
        if not self._accept("]"):
            values.append(self._literal())
            while self._accept(","):
                values.append(self._literal())
            self._expect("]")
        return tuple(values)

    def _literal(self) -> Scalar:
        token = self.current
        if token.kind == "string":
            self._advance()
            return _unquote(token.text)
        if token.kind == "number":
            self._advance()
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "keyword" and token.text in {"true", "false"}:
            self._advance()
            return token.text == "true"
        raise self._error("expected a string, a number, true or false")

    def _operand(self) -> Node:
        token = self.current
        if token.kind == "ident":
            self._advance()
            return Name(token.text)
        if token.kind == "keyword" and token.text == "answered":
            self._advance()
            self._expect("(")
            if self.current.kind != "ident":
                raise self._error("expected a question id")
            name = self._advance().text
            self._expect(")")
            return Answered(name)
        if self._accept("("):
            node = self._or()
            self._expect(")")
            return node
        return Literal(self._literal())


def parse_expression(source: str) -> Node:
    """Parse a ``show_if`` condition, raising ``ExpressionError`` with the position."""
    if not isinstance(source, str):
        raise ExpressionError("a condition must be a string")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"condition longer than {MAX_EXPRESSION_LENGTH} characters")
    if not source.strip():
        raise ExpressionError("empty condition")
    return _Parser(source).parse()


def references(node: Node) -> list[str]:
    """Question ids the expression reads, in order of first appearance."""
    found: list[str] = []

    def visit(n: Node) -> None:
        if isinstance(n, Name | Answered):
            if n.question_id not in found:
                found.append(n.question_id)
        elif isinstance(n, Compare):
            visit(n.left)
            visit(n.right)
        elif isinstance(n, InList | Not):
            visit(n.operand)
        elif isinstance(n, BoolOp):
            for child in n.operands:
                visit(child)

    visit(node)
    return found


def compared_literals(node: Node) -> list[tuple[str, Scalar]]:
    """(question id, literal) pairs the expression compares for (in)equality or membership."""
    pairs: list[tuple[str, Scalar]] = []
    if isinstance(node, Compare) and node.op in {"==", "!="}:
        for a, b in ((node.left, node.right), (node.right, node.left)):
            if isinstance(a, Name) and isinstance(b, Literal):
                pairs.append((a.question_id, b.value))
    elif isinstance(node, InList) and isinstance(node.operand, Name):
        pairs.extend((node.operand.question_id, value) for value in node.values)
    for child in _children(node):
        pairs.extend(compared_literals(child))
    return pairs


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, InList | Not):
        return (node.operand,)
    if isinstance(node, BoolOp):
        return node.operands
    return ()


class _Missing:
    """An unanswered question's value: every comparison with it is false."""


_MISSING = _Missing()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value(node: Node, answers: Mapping[str, Any]) -> object:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        value = answers.get(node.question_id)
        return _MISSING if value is None else value
    return evaluate(node, answers)


def _equal(left: object, right: object) -> bool:
    if isinstance(left, list):
        return any(_equal(item, right) for item in left)
    if isinstance(right, list):
        return any(_equal(left, item) for item in right)
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    return type(left) is type(right) and isinstance(left, str | bool) and left == right


def _ordered(op: str, left: object, right: object) -> bool:
    if _is_number(left) and _is_number(right):
        a, b = float(left), float(right)  # type: ignore[arg-type]
        if math.isnan(a) or math.isnan(b):
            return False
    elif isinstance(left, str) and isinstance(right, str):
        a, b = left, right  # type: ignore[assignment]
    else:
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def evaluate(node: Node, answers: Mapping[str, Any]) -> bool:
    """Evaluate a parsed condition against answers (question id → value); never raises."""
    if isinstance(node, BoolOp):
        results = (evaluate(child, answers) for child in node.operands)
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, Not):
        return not evaluate(node.operand, answers)
    if isinstance(node, Answered):
        return answers.get(node.question_id) is not None
    if isinstance(node, InList):
        value = _value(node.operand, answers)
        if isinstance(value, _Missing):
            return False
        hit = any(_equal(value, item) for item in node.values)
        return not hit if node.negated else hit
    if isinstance(node, Compare):
        left, right = _value(node.left, answers), _value(node.right, answers)
        if isinstance(left, _Missing) or isinstance(right, _Missing):
            return False
        if node.op == "==":
            return _equal(left, right)
        if node.op == "!=":
            return not _equal(left, right)
        return _ordered(node.op, left, right)
    return _value(node, answers) is True


def as_json(node: Node) -> dict[str, Any]:
    """The parsed condition as plain JSON, for the survey page's script to evaluate.

    Shapes: ``{"op": "lit", "value"}``, ``{"op": "name"|"answered", "id"}``,
    ``{"op": "not", "operand"}``, ``{"op": "and"|"or", "operands"}``,
    ``{"op": "in", "operand", "values", "negated"}`` and ``{"op": "=="…, "left", "right"}``.
    """
    if isinstance(node, Literal):
        return {"op": "lit", "value": node.value}
    if isinstance(node, Name):
        return {"op": "name", "id": node.question_id}
    if isinstance(node, Answered):
        return {"op": "answered", "id": node.question_id}
    if isinstance(node, Not):
        return {"op": "not", "operand": as_json(node.operand)}
    if isinstance(node, BoolOp):
        return {"op": node.op, "operands": [as_json(child) for child in node.operands]}
    if isinstance(node, InList):
        return {
            "op": "in",
            "operand": as_json(node.operand),
            "values": list(node.values),
            "negated": node.negated,
        }
    return {"op": node.op, "left": as_json(node.left), "right": as_json(node.right)}
