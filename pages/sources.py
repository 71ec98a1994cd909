"""Other outcome sources: record an outcome learned from an employer, a verified public
profile or a phone call; import many from a CSV (checked before anything is written)."""

import hashlib

import streamlit as st

from outcomes.config import get_settings
from outcomes.errors import DatabaseError, OutcomesError, SettingsError
from outcomes.exports import frame_to_csv
from outcomes.fieldwork.sources import (
    OutcomeRefused,
    account_recorder,
    find_graduate,
    list_other_outcomes,
    parse_outcome,
    record_other_outcome,
    recorder_scope,
)
from outcomes.fieldwork.sources_csv import ImportReport, import_other_outcomes, template_csv
from outcomes.instruments import codes
from outcomes.store.engine import session_scope
from outcomes.store.tables import utcnow
from outcomes.vocab import ACTIVITIES, OTHER_OUTCOME_SOURCES, SALARY_PERIODS
from outcomes.web.context import errors_shown_plainly, get_engine, guard, show_error

SHOWN = 2000  # rows of the recorded list on the page

viewer = guard("sources")
settings = get_settings()
st.title("Other outcome sources")
st.caption(
    "Outcomes learned elsewhere count toward the knowledge rate, never the response rate, "
    "stop reminders and keep their source in every analysis. A graduate's own survey answer "
    "is never overwritten."
)
with errors_shown_plainly(), session_scope(get_engine()) as session:
    recorder = account_recorder(session, viewer.user_id, actor=viewer.actor)
    recorder_scope(session, recorder)  # one sentence, and nothing below, without a scope


# Characters Streamlit's Markdown gives a meaning to: a wave name or a typed value inside a
# sentence is escaped, so "[click](http://evil)" is shown as it is and never becomes a link.
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]()<>#|~$"})


def _plain(text: str) -> str:
    return text.translate(_MARKDOWN)


def _refused(exc: OutcomesError) -> None:
    """Each problem of a refused outcome as its own sentence; other errors as one."""
    if isinstance(exc, OutcomeRefused):
        for problem in exc.problems:
            st.error(_plain(problem.message))
    elif isinstance(exc, DatabaseError | SettingsError):
        show_error(exc)  # the unavailable page, without the database's address
    else:
        st.error(_plain(str(exc)))


def _import(data: bytes, *, dry_run: bool, replace: bool) -> ImportReport:
    """Check the file (``dry_run``) or write it, in one unit of work."""
    with session_scope(get_engine()) as session:
        return import_other_outcomes(
            session,
            settings,
            data,
            recorder=recorder,
            at=utcnow(),
            dry_run=dry_run,
            replace=replace,
        )


record_tab, import_tab, list_tab = st.tabs(["Record one", "Import a CSV", "Recorded"])

with record_tab:
    with st.form("sources_find"):
        key = st.text_input("Learner ref, external id or e-mail address")
        find = st.form_submit_button("Find the graduate")
    if find:
        st.session_state.pop("sources_graduate", None)
        try:
            with session_scope(get_engine()) as session:
                st.session_state["sources_graduate"] = find_graduate(
                    session, key, recorder=recorder
                )
        except OutcomesError as exc:
            _refused(exc)
    graduate = st.session_state.get("sources_graduate")
    if graduate is not None:
        st.text(f"Graduate {graduate.learner_ref}")
        waves = {w.wave_id: w for w in graduate.waves}
        with st.form("sources_record"):
            wave_id = st.selectbox(
                "Wave",
                list(waves),
                format_func=lambda i: (
                    f"{waves[i].wave} ({waves[i].programme})"
                    + (
                        f" — already known from {waves[i].outcome_source}"
                        if waves[i].outcome_source
                        else ""
                    )
                ),
            )
            source = st.selectbox("Source", OTHER_OUTCOME_SOURCES)
            observed_on = st.date_input("Date observed", value=utcnow().date())
            activity = st.selectbox("Activity", [a for a in ACTIVITIES if a != "unknown"])
            hours = st.number_input("Hours per week", value=None, min_value=0.0, step=1.0)
            salary = st.number_input("Salary", value=None, min_value=0.0, step=100.0)
            currency = st.text_input("Currency", value=settings.base_currency, max_chars=3)
            period = st.selectbox("Pay period", SALARY_PERIODS, index=None)
            occupation = st.selectbox(
                "Occupation (ISCO-08 major group)",
                list(codes.occupations()),
                index=None,
                format_func=lambda c: f"{c} {codes.occupations()[c][0]}",
            )
            industry = st.selectbox(
                "Industry (ISIC Rev.4 section)",
                list(codes.industries()),
                index=None,
                format_func=lambda c: f"{c} {codes.industries()[c][0]}",
            )
            related = st.selectbox(
                "Job related to the programme (1–5)", [1, 2, 3, 4, 5], index=None
            )
            note = st.text_area("Note (how it was learned)", max_chars=2000)
            replace = st.checkbox("Replace an outcome recorded earlier from another source")
            submitted = st.form_submit_button("Record outcome")
        if submitted:
            values = {
                "learner": graduate.learner_ref,
                "learner_by": "ref",
                "wave": wave_id,
                "source": source,
                "observed_on": observed_on,
                "activity": activity,
                "hours_per_week": hours,
                "salary": salary,
                # The currency field is pre-filled: it counts only with a salary.
                "currency": (currency or None) if salary is not None else None,
                "period": period,
                "occupation_isco": occupation,
                "industry_isic": industry,
                "job_related": related,
                "note": note or None,
            }
            try:
                with session_scope(get_engine()) as session:
                    recorded = record_other_outcome(
                        session,
                        settings,
                        parse_outcome(values),
                        recorder=recorder,
                        at=utcnow(),
                        replace=replace,
                    )
            except OutcomesError as exc:
                _refused(exc)
            else:
                st.session_state.pop("sources_graduate", None)
                replaced = (
                    f", replacing the one from {recorded.replaced}" if recorded.replaced else ""
                )
                st.success(
                    f"Recorded: {recorded.activity} ({recorded.source}) in {_plain(recorded.wave)}"
                    f"{replaced}."
                )
                if recorded.salary_note:
                    st.warning(f"The salary is kept but excluded: {recorded.salary_note}.")

with import_tab:
    st.caption(
        "Every row is checked before any is written; one rejected row and nothing is written. "
        "UTF-8, with or without a byte-order mark."
    )
    st.download_button(
        "Download the template",
        template_csv().encode("utf-8"),
        file_name="other-outcomes.csv",
        mime="text/csv",
        on_click="ignore",
    )
    uploaded = st.file_uploader("CSV file of outcomes", type=["csv"])
    replace_all = st.checkbox("Rows may replace outcomes recorded earlier from other sources")
    data = uploaded.getvalue() if uploaded is not None else None
    digest = hashlib.sha256(data).hexdigest() if data is not None else None
    if data is not None and digest == st.session_state.get("sources_imported"):
        st.success("This file is imported; its outcomes are under Recorded.")
    elif data is not None:
        try:
            checked = _import(data, dry_run=True, replace=replace_all)
        except OutcomesError as exc:
            _refused(exc)
        else:
            if checked.rejects:
                st.error(checked.summary())
                st.dataframe(
                    [r.to_dict() for r in checked.rejects], hide_index=True, width="stretch"
                )
            else:
                st.info(checked.summary())
                if st.button(f"Write {checked.rows} outcomes", type="primary"):
                    try:
                        written = _import(data, dry_run=False, replace=replace_all)
                    except OutcomesError as exc:
                        _refused(exc)
                    else:
                        st.session_state["sources_imported"] = digest
                        st.success(written.summary())

with list_tab:
    with errors_shown_plainly(), session_scope(get_engine()) as session:
        recorded_frame = list_other_outcomes(
            session, recorder=recorder, with_recorder=True, limit=SHOWN
        )
    if len(recorded_frame) == SHOWN:
        st.caption(f"The newest {SHOWN:,}; `outcomes sources list` lists them all.")
    if recorded_frame.empty:
        st.info("No outcomes from other sources are recorded in your programmes yet.")
    else:
        st.dataframe(recorded_frame, hide_index=True, width="stretch")
        st.download_button(
            "Download as CSV",
            frame_to_csv(recorded_frame),
            file_name="other-source-outcomes.csv",
            mime="text/csv",
            on_click="ignore",
        )
