"""Outbox (demo mode): the messages that would have been sent, with working links."""

import streamlit as st

from outcomes.access.staff import assigned_scope
from outcomes.config import get_settings
from outcomes.fieldwork.demo_outbox import demo_outbox
from outcomes.fieldwork.sending import run_fieldwork
from outcomes.store.engine import session_scope
from outcomes.web.context import errors_shown_plainly, get_engine, guard

viewer = guard("outbox")
settings = get_settings()
st.title("Outbox")
if not settings.demo:
    st.info(
        "This page is for demo mode, where messages are kept here instead of being sent. "
        "Here invitations and reminders go to the SMTP server: 'outcomes fieldwork run' "
        "sends what is due (docs/fieldwork.md, E-mail)."
    )
    st.stop()

st.caption(
    "Demo mode: nothing leaves this machine. Each message shows what the graduate would "
    "receive; its link opens their survey (until a later message replaces it)."
)
with errors_shown_plainly(), session_scope(get_engine()) as session:
    scope = assigned_scope(session, viewer.audience, viewer.user_id)
# Sending runs for every open wave, so only a viewer who sees every programme may start it.
if scope is not None:
    st.caption(
        "Sending what is due covers every programme's waves, so an administrator (or a "
        "manager who sees every programme) starts it; below are your programmes' messages."
    )
elif st.button("Send what is due now"):
    with errors_shown_plainly():
        report = run_fieldwork(get_engine(), settings, actor=viewer.actor)
    st.success(
        f"Planned {report.planned.invitations} invitation(s) and {report.planned.reminders} "
        f"reminder(s); {report.sent.sent} message(s) added to the outbox."
    )

with errors_shown_plainly(), session_scope(get_engine()) as session:
    entries = demo_outbox(session, settings, scope=scope, limit=50)
if not entries:
    st.write("No messages yet. Open a wave with unsent invitations and press the button above.")
for entry in entries:
    when = f"{entry.sent_at:%Y-%m-%d %H:%M}" if entry.sent_at else "—"
    kind = "Invitation" if entry.kind == "invitation" else f"Reminder {entry.number}"
    with st.expander(f"{when} · {kind} · {entry.subject}"):
        st.text(f"To: {entry.to}")
        if entry.live:
            st.link_button("Open the survey as this graduate", entry.survey_url)
        else:
            st.caption("A later message replaced this link; it no longer opens.")
        st.text(entry.text)
        st.code(entry.html, language="html", wrap_lines=True)
