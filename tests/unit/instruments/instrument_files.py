"""Helpers for the instrument tests: build small instrument files from question YAML."""

from __future__ import annotations

import textwrap

HEADER = """\
id: {id}
title: {{en: Test survey, es: Encuesta de prueba}}
intro: {{en: Hello, es: Hola}}
privacy_notice:
  version: "1"
  text: {{en: We keep your data safe., es: Protegemos sus datos.}}
sections:
  - id: main
    title: {{en: Main, es: Principal}}
    questions:
"""


def instrument_yaml(questions: str, instrument_id: str = "test") -> str:
    """A whole instrument file whose only section holds ``questions`` (YAML list items)."""
    body = textwrap.indent(textwrap.dedent(questions).strip("\n"), " " * 6)
    return HEADER.format(id=instrument_id) + body + "\n"


# Line of the first question in a file built by instrument_yaml (1-based).
FIRST_QUESTION_LINE = HEADER.count("\n") + 1
