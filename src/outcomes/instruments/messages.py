"""Messages shown to respondents about their answers, in every survey language.

Kept apart from the validation logic so that translators can review one file.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "en": "Please answer this question.",
        "es": "Por favor, responda a esta pregunta.",
    },
    "soft_required": {
        "en": "This question helps us a lot. You may leave it blank if you prefer.",
        "es": "Esta pregunta nos ayuda mucho. Puede dejarla en blanco si lo prefiere.",
    },
    "not_a_choice": {
        "en": "Please choose one of the options.",
        "es": "Por favor, elija una de las opciones.",
    },
    "not_choices": {
        "en": "Please choose from the options listed.",
        "es": "Por favor, elija entre las opciones de la lista.",
    },
    "min_choices": {
        "en": "Please choose at least {n} options.",
        "es": "Por favor, elija al menos {n} opciones.",
    },
    "max_choices": {
        "en": "Please choose at most {n} options.",
        "es": "Por favor, elija como máximo {n} opciones.",
    },
    "yes_no": {
        "en": "Please answer yes or no.",
        "es": "Por favor, responda sí o no.",
    },
    "integer": {
        "en": "Please enter a whole number.",
        "es": "Por favor, introduzca un número entero.",
    },
    "number": {
        "en": "Please enter a number.",
        "es": "Por favor, introduzca un número.",
    },
    "min": {
        "en": "Please enter a value of at least {n}.",
        "es": "Por favor, introduzca un valor de al menos {n}.",
    },
    "max": {
        "en": "Please enter a value of at most {n}.",
        "es": "Por favor, introduzca un valor de como máximo {n}.",
    },
    "money": {
        "en": "Please enter an amount, a currency and a period.",
        "es": "Por favor, indique una cantidad, una moneda y un periodo.",
    },
    "currency": {
        "en": "Please choose a currency from the list.",
        "es": "Por favor, elija una moneda de la lista.",
    },
    "period": {
        "en": "Please say whether the amount is per hour, week, month or year.",
        "es": "Por favor, indique si la cantidad es por hora, semana, mes o año.",
    },
    "scale": {
        "en": "Please choose a point on the scale from {low} to {high}.",
        "es": "Por favor, elija un punto de la escala del {low} al {high}.",
    },
    "text": {
        "en": "Please enter text.",
        "es": "Por favor, introduzca un texto.",
    },
    "min_length": {
        "en": "Please enter at least {n} characters.",
        "es": "Por favor, introduzca al menos {n} caracteres.",
    },
    "max_length": {
        "en": "Please keep your answer to {n} characters or fewer.",
        "es": "Por favor, limite su respuesta a {n} caracteres.",
    },
    "pattern": {
        "en": "Please check the format of your answer.",
        "es": "Por favor, revise el formato de su respuesta.",
    },
    "bad_characters": {
        "en": "Your answer contains characters we cannot store; please retype it.",
        "es": (
            "Su respuesta contiene caracteres que no podemos guardar; "
            "por favor, escríbala de nuevo."
        ),
    },
    "month_year": {
        "en": "Please enter a month and year (for example 2026-03).",
        "es": "Por favor, indique un mes y un año (por ejemplo 2026-03).",
    },
    "not_an_object": {
        "en": "The answers could not be read; please reload the page.",
        "es": "No se han podido leer las respuestas; por favor, recargue la página.",
    },
}


def message(key: str, language: str, **params: Any) -> str:
    """The message ``key`` in ``language`` (English if the language is unknown)."""
    texts = MESSAGES[key]
    return texts.get(language, texts["en"]).format(**params)
