"""Survey waves: define a wave, preview its population, launch it, close it."""

import datetime as dt

import pandas as pd
import streamlit as st

from outcomes.access.permissions import can
from outcomes.access.staff import assigned_scope
from outcomes.config import get_settings
from outcomes.errors import OutcomesError
from outcomes.fieldwork.waves import (
    WaveInputProblem,
    close_wave,
    create_wave,
    launch_wave,
    list_waves,
    parse_wave_input,
    show_wave,
    wave_choices,
)
from outcomes.store.engine import session_scope
from outcomes.web.context import errors_shown_plainly, get_engine, guard, show_error

NOTICE = "waves_notice"
CHOSEN = "waves_chosen"

viewer = guard("waves")
manages = can(viewer.audience, "waves.manage")
st.title("Survey waves")
st.caption(
    "A wave surveys the graduates of its programmes whose award date falls in its window. "
    "Launching creates one invitation per graduate, including those never to be contacted "
    "(opted out or erased), who stay in the wave's denominator; launching again adds only "
    "those missing. Nothing is sent by this page."
)
notice = st.session_state.pop(NOTICE, None)
if notice:
    st.success(notice)

with errors_shown_plainly(), session_scope(get_engine()) as session:
    scope = assigned_scope(session, viewer.audience, viewer.user_id)
    waves = list_waves(session, scope=scope)
    choices = wave_choices(session, scope=scope)

if waves:
    st.dataframe(
        pd.DataFrame([wave.to_json() for wave in waves]),
        hide_index=True,
        width="stretch",
        column_order=(
            "id",
            "name",
            "status",
            "instrument",
            "programmes",
            "awarded_from",
            "awarded_to",
            "opens_on",
            "closes_on",
            "invitations",
        ),
    )
else:
    st.info("No survey waves yet.")

if manages:
    st.subheader("New wave")
    today = dt.date.today()
    with st.form("create_wave"):
        instrument = st.selectbox("Instrument", choices.instruments)
        programmes = st.multiselect(
            "Programmes",
            choices.programmes,
            help="Every programme when none is chosen (only for staff who see every one).",
        )
        left, right = st.columns(2)
        awarded_from = left.date_input("Awarded from", today.replace(month=1, day=1))
        awarded_to = right.date_input("Awarded to", today)
        months = st.number_input("Months after award", 0, 240, 6)
        opens_on = left.date_input("Opens on", today)
        closes_on = right.date_input("Closes on", today + dt.timedelta(days=60))
        reminders = left.number_input("Reminders (at most)", 0, 10, 2)
        gap = right.number_input("Days between reminders (at least)", 1, 90, 7)
        response_target = left.number_input(
            "Response-rate target (0 to 1; empty: the default)", 0.0, 1.0, None, 0.05
        )
        knowledge_target = right.number_input(
            "Knowledge-rate target (0 to 1; empty: the default)", 0.0, 1.0, None, 0.05
        )
        non_completers = st.checkbox(
            "Also invite learners who withdrew (only if the instrument allows it)"
        )
        name = st.text_input("Name (empty: the instrument and window)")
        created = st.form_submit_button("Create wave")
    if created:
        try:
            data = parse_wave_input(
                {
                    "instrument": instrument or "",
                    "programmes": list(programmes),
                    "awarded_from": awarded_from,
                    "awarded_to": awarded_to,
                    "months": int(months),
                    "opens_on": opens_on,
                    "closes_on": closes_on,
                    "reminders": int(reminders),
                    "reminder_gap_days": int(gap),
                    "non_completers": non_completers,
                    "response_target": response_target,
                    "knowledge_target": knowledge_target,
                    "name": name,
                }
            )
            with session_scope(get_engine()) as session:
                wave = create_wave(session, data, actor=viewer.actor, scope=scope)
        except WaveInputProblem as problem:
            for sentence in problem.problems.values():
                st.error(sentence)
        except OutcomesError as exc:
            show_error(exc)
        else:
            st.session_state[NOTICE] = f"Created wave {wave.id}, {wave.name} (a draft)."
            st.session_state[CHOSEN] = wave.id
            st.rerun()

if waves:
    st.subheader("Population and launch")
    ids = [wave.id for wave in waves]
    names = {wave.id: f"{wave.id} · {wave.name} ({wave.status})" for wave in waves}
    chosen = st.session_state.get(CHOSEN)
    wave_id = st.selectbox(
        "Wave", ids, index=ids.index(chosen) if chosen in ids else 0, format_func=names.get
    )
    with errors_shown_plainly(), session_scope(get_engine()) as session:
        detail = show_wave(session, int(wave_id), scope=scope)
    population = detail.population
    st.dataframe(
        pd.DataFrame([row.to_json() for row in population.programmes]),
        hide_index=True,
        width="stretch",
        column_order=(
            "programme",
            "to_invite",
            "skipped_opted_out",
            "skipped_erased",
            "already_invited",
            "total",
        ),
    )
    st.text(
        f"Population {population.total}: {population.count('to_invite')} to invite, "
        f"{population.count('skipped_opted_out')} skipped as opted out, "
        f"{population.count('skipped_erased')} skipped as erased, "
        f"{population.count('already_invited')} already invited."
    )
    if manages and detail.wave.status != "closed":
        launch_column, close_column = st.columns(2)
        with launch_column:
            sure = st.checkbox(f"Launch wave {wave_id}: create {population.to_add} invitations")
            if st.button("Launch", type="primary", disabled=not sure):
                try:
                    with session_scope(get_engine()) as session:
                        launched = launch_wave(
                            session, get_settings(), int(wave_id), actor=viewer.actor, scope=scope
                        )
                except OutcomesError as exc:
                    show_error(exc)
                else:
                    st.session_state[NOTICE] = launched.sentence()
                    st.session_state[CHOSEN] = int(wave_id)
                    st.rerun()
        with close_column:
            closing = st.checkbox(f"Close wave {wave_id}: answering stops for everyone")
            if st.button("Close", disabled=not closing):
                try:
                    with session_scope(get_engine()) as session:
                        closed = close_wave(session, int(wave_id), actor=viewer.actor, scope=scope)
                except OutcomesError as exc:
                    show_error(exc)
                else:
                    st.session_state[NOTICE] = closed.sentence()
                    st.session_state[CHOSEN] = int(wave_id)
                    st.rerun()
