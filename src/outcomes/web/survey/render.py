"""Server-rendered survey pages: Jinja2 templates (autoescaped), one inline stylesheet, one
inline script, both allowed by hash in the pages' Content-Security-Policy.

Inline rather than linked: on a phone with 3G latency every extra request costs a round
trip of about half a second before anything shows, and the stylesheet is 3 KB. The hashes
are computed from the same strings the pages embed, so the policy cannot drift from them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from outcomes.fieldwork.forms import NO, YES, form_values
from outcomes.instruments.answers import AnswerMessage
from outcomes.instruments.codes import coded_list
from outcomes.instruments.expressions import as_json, parse_expression, references
from outcomes.instruments.schema import DEFAULT_MAX_LENGTH, Question
from outcomes.vocab import MONTH_NAMES as MONTHS
from outcomes.vocab import SALARY_PERIODS
from outcomes.web.survey.texts import text


def long_date(day: dt.date, language: str) -> str:
    """``3 December 2026`` / ``3 de diciembre de 2026``.

    Two languages need twenty-four month names, not a locale library (and the process locale
    must not decide what a graduate reads).
    """
    month = MONTHS.get(language, MONTHS["en"])[day.month - 1]
    if language == "es":
        return f"{day.day} de {month} de {day.year}"
    return f"{day.day} {month} {day.year}"


def _static(name: str) -> str:
    return resources.files("outcomes.web.survey").joinpath("static", name).read_text("utf-8")


@cache
def stylesheet() -> str:
    """The pages' stylesheet, exactly as embedded."""
    return _static("survey.css")


@cache
def script() -> str:
    """The pages' script, exactly as embedded."""
    return _static("survey.js")


def _hash_source(body: str) -> str:
    digest = hashlib.sha256(body.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def survey_csp() -> str:
    """The survey pages' Content-Security-Policy: nothing but this page's own style and script."""
    directives = {
        "default-src": "'none'",
        "style-src": _hash_source(stylesheet()),
        "script-src": _hash_source(script()),
        # data: for the empty icon of base.html (<link rel="icon" href="data:,">): without
        # it the browser asks for /favicon.ico after every page, and Streamlit answers that
        # with its frontend's index.html (8 KB, a request graduates should never make).
        "img-src": "'self' data:",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


@cache
def environment() -> Environment:
    """The template environment (autoescaping on for every template)."""
    env = Environment(
        loader=PackageLoader("outcomes.web.survey", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render(template: str, language: str, **context: Any) -> str:
    """One page in ``language``."""
    other = "en" if language == "es" else "es"
    page = environment().get_template(template)
    return page.render(
        lang=language,
        other_lang=other,
        t=lambda key, **params: text(key, language, **params),
        css=stylesheet(),
        js=script(),
        with_script=True,
        **context,
    )


# --- questions as template data -------------------------------------------------------------


def _options(pairs: Sequence[tuple[str, str]], chosen: str | Sequence[str]) -> list[dict[str, Any]]:
    selected = {chosen} if isinstance(chosen, str) else set(chosen)
    return [{"value": v, "label": label, "checked": v in selected} for v, label in pairs]


def question_view(
    question: Question,
    language: str,
    values: Mapping[str, Any],
    message: AnswerMessage | None,
    *,
    same_page: frozenset[str],
    currencies: Sequence[str],
) -> dict[str, Any]:
    """What the question macro needs to draw ``question`` with its current values."""
    kind = question.type
    view: dict[str, Any] = {
        "id": question.id,
        "text": question.text.get(language),
        "hint": question.help.get(language) if question.help else None,
        "optional": None if question.required else text("optional", language),
        "message": message.text if message else None,
        "error": message is not None and message.severity == "error",
        "fields": values,
        "value": values.get(question.id, ""),
        "show_if": None,
        "group": False,
        "inline": False,
        "ends": None,
    }
    if question.show_if is not None:
        node = parse_expression(question.show_if)
        if same_page.intersection(references(node)):
            view["show_if"] = json.dumps(as_json(node), separators=(",", ":"))
    chosen = values.get(question.id, "")
    if kind in {"single_choice", "multiple_choice"}:
        pairs = [(c.code, c.label.get(language)) for c in question.choices or ()]
        view.update(
            group=True,
            input="radio" if kind == "single_choice" else "checkbox",
            options=_options(pairs, chosen),
        )
    elif kind == "yes_no":
        pairs = [(YES, text("yes", language)), (NO, text("no", language))]
        view.update(group=True, input="radio", inline=True, options=_options(pairs, chosen))
    elif kind == "likert":
        labels = question.likert_labels()
        pairs = [(str(i + 1), label.get(language)) for i, label in enumerate(labels)]
        view.update(group=True, input="radio", options=_options(pairs, chosen))
    elif kind == "scale_0_10":
        pairs = [(str(i), str(i)) for i in range(11)]
        anchors = question.anchors
        ends = (
            (f"0 — {anchors.low.get(language)}", f"10 — {anchors.high.get(language)}")
            if anchors
            else None
        )
        view.update(
            group=True,
            input="radio",
            inline=True,
            options=_options(pairs, chosen),
            ends=ends,
            hint=" ".join(part for part in (view["hint"], *(ends or ())) if part) or None,
        )
    elif kind == "money":
        allowed = list(question.currencies or currencies)
        view.update(
            group=True,
            kind="money",
            amount_label=text("amount", language),
            currency_label=text("currency", language),
            period_label=text("period", language),
            currencies=allowed,
            periods=[(p, text(f"period_{p}", language)) for p in SALARY_PERIODS],
        )
    elif kind in {"country", "occupation", "industry"}:
        codes: Mapping[str, tuple[str, str]] = coded_list(kind) or {}
        index = 1 if language == "es" else 0
        pairs = sorted(((code, names[index]) for code, names in codes.items()), key=_sort_key)
        view.update(kind="select", options=_options(pairs, chosen), choose=text("choose", language))
    elif kind in {"integer", "decimal"}:
        view.update(
            kind="number",
            input="text",
            inputmode="numeric" if kind == "integer" else "decimal",
            unit=question.unit.get(language) if question.unit else None,
        )
    elif kind == "month_year":
        view.update(kind="month", input="month", hint=view["hint"] or text("month_hint", language))
    else:
        rules = question.validation
        limit = (rules.max_length if rules and rules.max_length else None) or DEFAULT_MAX_LENGTH[
            kind
        ]
        view.update(kind=kind, input="text", maxlength=limit)
    return view


def _sort_key(pair: tuple[str, str]) -> str:
    return pair[1].casefold()


def prefilled(
    question: Question, answer: Any, posted: Mapping[str, Sequence[str]] | None
) -> dict[str, Any]:
    """Field values: what was just posted (on an error), else the stored answer."""
    if posted is None:
        return form_values(question, answer)
    values: dict[str, Any] = {}
    for name in form_values(question, None):
        got = list(posted.get(name) or ())
        values[name] = got if question.type == "multiple_choice" else (got[0] if got else "")
    if question.type == "money":
        stored = form_values(question, answer)
        for name in values:
            values[name] = values[name] or stored.get(name, "")
    return values


def _amount(amount: float, language: str) -> str:
    """1,500.5 in English, 1.500,5 in Spanish (cents only when there are any)."""
    shown = f"{amount:,.2f}".removesuffix(".00")
    if language == "es":
        shown = shown.replace(",", " ").replace(".", ",").replace(" ", ".")
    return shown


def answer_text(question: Question, answer: Any, language: str) -> str:
    """A stored answer as the review page shows it."""
    if answer is None or answer == [] or answer == "":
        return text("not_answered", language)
    kind = question.type
    if kind in {"single_choice", "multiple_choice"}:
        labels = {c.code: c.label.get(language) for c in question.choices or ()}
        chosen = answer if isinstance(answer, list) else [answer]
        return "; ".join(labels.get(str(code), str(code)) for code in chosen)
    if kind == "yes_no":
        return text("yes" if answer is True else "no", language)
    if kind == "likert":
        labels_ = question.likert_labels()
        return labels_[int(answer) - 1].get(language) if 1 <= int(answer) <= 5 else str(answer)
    if kind == "money" and isinstance(answer, Mapping):
        amount = answer.get("amount")
        shown = _amount(amount, language) if isinstance(amount, int | float) else amount
        period = text(f"period_{answer.get('period')}", language)
        return f"{shown} {answer.get('currency')} / {period}"
    if kind in {"country", "occupation", "industry"}:
        listed: Mapping[str, tuple[str, str]] = coded_list(kind) or {}
        names = listed.get(str(answer))
        return names[1 if language == "es" else 0] if names else str(answer)
    return str(answer)
