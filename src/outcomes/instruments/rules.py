"""Rules that look across questions: the checks a valid schema alone cannot make.

Each finding carries the path of the offending node (as pydantic would give it) so that the
loader can turn it into a line of the YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass

from outcomes.instruments.expressions import (
    ExpressionError,
    Node,
    compared_literals,
    parse_expression,
    references,
)
from outcomes.instruments.mapping import ACTIVITY_ANSWER_CODES, ACTIVITY_FIELDS, CANONICAL_FIELDS
from outcomes.instruments.schema import CHOICE_TYPES, Instrument, Question

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A rule broken by one question (or by the instrument when question_id is '-')."""

    question_id: str
    path: Path
    message: str


def _located(instrument: Instrument) -> list[tuple[Question, Path]]:
    return [
        (question, ("sections", s, "questions", q))
        for s, section in enumerate(instrument.sections)
        for q, question in enumerate(section.questions)
    ]


def instrument_findings(instrument: Instrument) -> list[Finding]:
    """Every cross-question rule the instrument breaks, in file order."""
    located = _located(instrument)
    findings: list[Finding] = []
    findings += _duplicate_ids(instrument, located)
    findings += _choices_and_canonical(located)
    findings += _conditions(located)
    return sorted(findings, key=lambda f: f.path)


def _duplicate_ids(instrument: Instrument, located: list[tuple[Question, Path]]) -> list[Finding]:
    findings = []
    seen_sections: set[str] = set()
    for s, section in enumerate(instrument.sections):
        if section.id in seen_sections:
            findings.append(
                Finding("-", ("sections", s, "id"), f"section id '{section.id}' is used twice")
            )
        seen_sections.add(section.id)
    seen: set[str] = set()
    for question, path in located:
        if question.id in seen:
            findings.append(Finding(question.id, (*path, "id"), "question id is used twice"))
        seen.add(question.id)
    return findings


def _choices_and_canonical(located: list[tuple[Question, Path]]) -> list[Finding]:
    findings = []
    mapped: dict[str, str] = {}
    for question, path in located:
        codes: set[str] = set()
        for c, choice in enumerate(question.choices or ()):
            if choice.code in codes:
                message = f"choice code '{choice.code}' is used twice"
                findings.append(Finding(question.id, (*path, "choices", c, "code"), message))
            codes.add(choice.code)
        field = question.canonical
        if field is None:
            continue
        where = (*path, "canonical")
        if field not in CANONICAL_FIELDS:
            known = ", ".join(sorted(CANONICAL_FIELDS))
            findings.append(
                Finding(question.id, where, f"unknown canonical field '{field}' (known: {known})")
            )
            continue
        if field in mapped:
            message = f"canonical field '{field}' is already mapped by question '{mapped[field]}'"
            findings.append(Finding(question.id, where, message))
        else:
            mapped[field] = question.id
        types, _ = CANONICAL_FIELDS[field]
        if question.type not in types:
            allowed = " or ".join(sorted(types))
            message = f"canonical field '{field}' needs a {allowed} question, not {question.type}"
            findings.append(Finding(question.id, where, message))
        findings += _bounds(question, field, where)
        if field in ACTIVITY_FIELDS and question.type == "single_choice":
            unknown = sorted(set(question.choice_codes()) - ACTIVITY_ANSWER_CODES)
            if unknown:
                allowed = ", ".join(sorted(ACTIVITY_ANSWER_CODES))
                message = f"activity codes {unknown} are not activities (use: {allowed})"
                findings.append(Finding(question.id, (*path, "choices"), message))
    return findings


# Numeric canonical fields must be bounded to fit the outcome table's constraints.
_BOUNDS = {
    "hours_per_week": (0.0, 168.0),
    "baseline_hours_per_week": (0.0, 168.0),
    "months_to_first_job": (0.0, None),
}


def _bounds(question: Question, field: str, where: Path) -> list[Finding]:
    if field not in _BOUNDS or question.type not in {"integer", "decimal"}:
        return []
    low, high = _BOUNDS[field]
    rules = question.validation
    ok_low = rules is not None and rules.min is not None and rules.min >= low
    ok_high = high is None or (rules is not None and rules.max is not None and rules.max <= high)
    if ok_low and ok_high:
        return []
    wanted = f"min >= {low:g}" + (f" and max <= {high:g}" if high is not None else "")
    return [Finding(question.id, where, f"canonical field '{field}' needs validation {wanted}")]


def _conditions(located: list[tuple[Question, Path]]) -> list[Finding]:
    findings = []
    position = {question.id: i for i, (question, _) in enumerate(located)}
    by_id = {question.id: question for question, _ in located}
    graph: dict[str, list[str]] = {}
    parsed: dict[str, tuple[Node, Path]] = {}
    for question, path in located:
        if question.show_if is None:
            continue
        where = (*path, "show_if")
        try:
            node = parse_expression(question.show_if)
        except ExpressionError as exc:
            findings.append(Finding(question.id, where, f"show_if cannot be parsed: {exc}"))
            continue
        parsed[question.id] = (node, where)
        graph[question.id] = [ref for ref in references(node) if ref in position]
    cyclic = _cycles(graph)
    for question_id, (node, where) in parsed.items():
        if question_id in cyclic:
            chain = " -> ".join(cyclic[question_id])
            findings.append(Finding(question_id, where, f"circular show_if condition: {chain}"))
        for ref in references(node):
            if ref not in position:
                message = f"show_if refers to unknown question '{ref}'"
                findings.append(Finding(question_id, where, message))
            elif position[ref] >= position[question_id] and question_id not in cyclic:
                message = f"show_if refers to '{ref}', which is not an earlier question"
                findings.append(Finding(question_id, where, message))
        findings += _literal_mismatches(question_id, node, where, by_id)
    return findings


def _literal_mismatches(
    question_id: str, node: Node, where: Path, by_id: dict[str, Question]
) -> list[Finding]:
    """Catch typos such as ``activity == "employd"``: such a condition is never true."""
    findings = []
    for ref, value in compared_literals(node):
        target = by_id.get(ref)
        if target is None:
            continue
        if target.type in CHOICE_TYPES and value not in target.choice_codes():
            message = f"show_if compares '{ref}' with {value!r}, which is not one of its codes"
            findings.append(Finding(question_id, where, message))
        elif target.type == "yes_no" and not isinstance(value, bool):
            message = f"show_if compares yes/no question '{ref}' with {value!r}: use true/false"
            findings.append(Finding(question_id, where, message))
    return findings


def _cycles(graph: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each question on a dependency cycle → the shortest cycle through it, start to start."""
    on_cycle: dict[str, list[str]] = {}
    for start in graph:
        # Breadth-first search back to ``start``: linear per question, no path explosion.
        parent: dict[str, str] = {}
        queue = [start]
        while queue and start not in parent:
            node = queue.pop(0)
            for nxt in graph.get(node, ()):
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if start in parent:
            chain = [start]
            node = parent[start]
            while node != start:
                chain.append(node)
                node = parent[node]
            on_cycle[start] = [start, *reversed(chain[1:]), start]
    return on_cycle
