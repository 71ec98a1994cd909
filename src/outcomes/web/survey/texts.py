"""Every word the graduate's survey pages say around the instrument, in English and Spanish.

The instrument's own wording lives in ``surveys/``; these are the page's frame (buttons,
headings, the friendly pages for links that do not open). Kept in one file so that a
translator reviews one place; a test checks every key has both languages.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "skip_to_content": {"en": "Skip to the survey", "es": "Ir a la encuesta"},
    "language_switch": {"en": "Español", "es": "English"},
    "language_switch_label": {"en": "Leer en español", "es": "Read in English"},
    "about": {
        "en": "This survey is about your course “{programme}”.",
        "es": "Esta encuesta trata sobre su curso «{programme}».",
    },
    "credential_awarded": {
        "en": "Micro-credential awarded on {date}.",
        "es": "Microcredencial concedida el {date}.",
    },
    "no_credential": {
        "en": "You took part in this course; your answers count even though you did not finish it.",
        "es": "Usted participó en este curso; sus respuestas cuentan aunque no lo terminara.",
    },
    "privacy_heading": {"en": "How we use your answers", "es": "Cómo usamos sus respuestas"},
    "privacy_more": {
        "en": "Read the full privacy notice",
        "es": "Lea el aviso de privacidad completo",
    },
    "start": {"en": "Start the survey", "es": "Empezar la encuesta"},
    "continue_survey": {"en": "Continue where you left off", "es": "Seguir donde lo dejó"},
    "decline": {
        "en": "No thanks, I prefer not to take part",
        "es": "No, gracias, prefiero no participar",
    },
    "declined_title": {"en": "Thank you for letting us know", "es": "Gracias por decírnoslo"},
    "declined_body": {
        "en": "We will not send you reminders about this survey. If you change your mind before "
        "{closes}, open the link from your e-mail again.",
        "es": "No le enviaremos recordatorios de esta encuesta. Si cambia de opinión antes del "
        "{closes}, vuelva a abrir el enlace de su correo.",
    },
    "step_of": {"en": "Section {n} of {total}", "es": "Sección {n} de {total}"},
    "next": {"en": "Save and continue", "es": "Guardar y continuar"},
    "back": {"en": "Back", "es": "Atrás"},
    "saved_note": {
        "en": "Your answers are saved each time you continue. You can close this page and come "
        "back later with the same link.",
        "es": "Sus respuestas se guardan cada vez que continúa. Puede cerrar esta página y volver "
        "más tarde con el mismo enlace.",
    },
    "optional": {"en": "(optional)", "es": "(opcional)"},
    "error_summary": {"en": "There is a problem", "es": "Hay un problema"},
    "warning_summary": {
        "en": "Before you go on",
        "es": "Antes de continuar",
    },
    "choose": {"en": "Choose…", "es": "Elija…"},
    "amount": {"en": "Amount", "es": "Cantidad"},
    "currency": {"en": "Currency", "es": "Moneda"},
    "period": {"en": "Paid per", "es": "Pagado por"},
    "period_hourly": {"en": "hour", "es": "hora"},
    "period_weekly": {"en": "week", "es": "semana"},
    "period_monthly": {"en": "month", "es": "mes"},
    "period_annual": {"en": "year", "es": "año"},
    "yes": {"en": "Yes", "es": "Sí"},
    "no": {"en": "No", "es": "No"},
    "month_hint": {"en": "For example 2026-03", "es": "Por ejemplo 2026-03"},
    "review_title": {"en": "Check your answers", "es": "Revise sus respuestas"},
    "review_intro": {
        "en": "You can change any answer before you send the survey.",
        "es": "Puede cambiar cualquier respuesta antes de enviar la encuesta.",
    },
    "review_intro_sent": {
        "en": "Your answers are in. You can still change them until {closes}.",
        "es": "Sus respuestas ya están enviadas. Puede cambiarlas hasta el {closes}.",
    },
    "change": {"en": "Change", "es": "Cambiar"},
    "change_section": {
        "en": "Change answers in “{title}”",
        "es": "Cambiar las respuestas de «{title}»",
    },
    "not_answered": {"en": "Not answered", "es": "Sin responder"},
    "submit": {"en": "Send my answers", "es": "Enviar mis respuestas"},
    "done_title": {
        "en": "Thank you — your answers are in",
        "es": "Gracias: sus respuestas están enviadas",
    },
    "done_body": {
        "en": "Your answers help us improve the course for the people who follow you. You can "
        "review or change them until {closes} with the same link.",
        "es": "Sus respuestas nos ayudan a mejorar el curso para quienes vengan después. Puede "
        "revisarlas o cambiarlas hasta el {closes} con el mismo enlace.",
    },
    "already_in": {
        "en": "Your answers were already in: nothing was sent twice.",
        "es": "Sus respuestas ya estaban enviadas: no se ha enviado nada dos veces.",
    },
    "review_link": {"en": "Review or change my answers", "es": "Revisar o cambiar mis respuestas"},
    "opt_out_button": {"en": "Don't contact me again", "es": "No volver a contactarme"},
    "opt_out_confirm_title": {"en": "Stop all contact?", "es": "¿Dejar de recibir mensajes?"},
    "opt_out_confirm_body": {
        "en": "We will not send you any more invitations or reminders, for this survey or "
        "later ones.",
        "es": "No le enviaremos más invitaciones ni recordatorios, ni de esta encuesta ni "
        "de otras.",
    },
    "opt_out_done_title": {
        "en": "You will not be contacted again",
        "es": "No volveremos a contactarle",
    },
    "opt_out_done_body": {
        "en": "We have recorded your choice. If you change your mind, write to {contact}.",
        "es": "Hemos registrado su decisión. Si cambia de opinión, escriba a {contact}.",
    },
    "contact": {
        "en": "Questions about this survey or your data? Write to {contact}.",
        "es": "¿Preguntas sobre esta encuesta o sus datos? Escriba a {contact}.",
    },
    "unknown_title": {
        "en": "This link does not open a survey",
        "es": "Este enlace no abre ninguna encuesta",
    },
    "unknown_body": {
        "en": "Please check that you copied the whole link from the e-mail. Links are replaced "
        "when a new one is sent, so use the most recent e-mail.",
        "es": "Compruebe que ha copiado el enlace completo del correo. Los enlaces se sustituyen "
        "cuando se envía uno nuevo, así que use el correo más reciente.",
    },
    "expired_title": {"en": "This link has expired", "es": "Este enlace ha caducado"},
    "expired_body": {
        "en": "Personal links work for a limited time. If you would still like to answer, write "
        "to us and we will send you a new one.",
        "es": "Los enlaces personales funcionan durante un tiempo limitado. Si aún desea "
        "responder, escríbanos y le enviaremos uno nuevo.",
    },
    "closed_title": {"en": "This survey has closed", "es": "Esta encuesta ha terminado"},
    "closed_body": {
        "en": "Thank you for your interest. This round of the survey no longer takes answers.",
        "es": "Gracias por su interés. Esta ronda de la encuesta ya no admite respuestas.",
    },
    "not_open_title": {
        "en": "This survey has not opened yet",
        "es": "Esta encuesta aún no está abierta",
    },
    "not_open_body": {
        "en": "Please come back with the same link once the survey opens.",
        "es": "Vuelva con el mismo enlace cuando la encuesta se abra.",
    },
    "opted_out_title": {
        "en": "You asked us not to contact you",
        "es": "Nos pidió que no le contactáramos",
    },
    "opted_out_body": {
        "en": "We have respected that. If you would like to take part after all, write to "
        "{contact}.",
        "es": "Lo hemos respetado. Si finalmente desea participar, escriba a {contact}.",
    },
    "session_title": {"en": "Please open your link again", "es": "Vuelva a abrir su enlace"},
    "session_body": {
        "en": "For your privacy, this page needs the personal link from your e-mail. Your "
        "answers so far are saved: open the link again to go on where you left off.",
        "es": "Por su privacidad, esta página necesita el enlace personal de su correo. Sus "
        "respuestas están guardadas: vuelva a abrir el enlace para seguir donde lo dejó.",
    },
    "slow_title": {"en": "Please wait a moment", "es": "Espere un momento"},
    "slow_body": {
        "en": "Too many links that do not open came from this connection. Please wait a few "
        "minutes and try the link from your e-mail again.",
        "es": "Desde esta conexión han llegado demasiados enlaces que no abren. Espere unos "
        "minutos y vuelva a probar el enlace de su correo.",
    },
    "stale_title": {"en": "Please try that again", "es": "Inténtelo de nuevo"},
    "stale_body": {
        "en": "The page was out of date, so nothing was saved from it. Your earlier answers are "
        "safe.",
        "es": "La página estaba desactualizada, así que no se ha guardado nada de ella. Sus "
        "respuestas anteriores están a salvo.",
    },
    "back_to_survey": {"en": "Back to the survey", "es": "Volver a la encuesta"},
    "unavailable_title": {
        "en": "The survey is unavailable for a moment",
        "es": "La encuesta no está disponible en este momento",
    },
    "unavailable_body": {
        "en": "Nothing you sent has been lost. Please try again in a few minutes.",
        "es": "No se ha perdido nada de lo que envió. Inténtelo de nuevo en unos minutos.",
    },
}


def text(key: str, language: str, **params: Any) -> str:
    """The phrase ``key`` in ``language`` (English for a language we do not have)."""
    phrases = TEXTS[key]
    return phrases.get(language, phrases["en"]).format(**params)
