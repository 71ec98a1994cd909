"""Privacy requests (administrators only): see, export and erase what is held about a learner."""

import streamlit as st

from outcomes.config import get_settings
from outcomes.errors import OutcomesError
from outcomes.privacy.rights import erase_learner, export_zip, learner_record, lookup, record_frames
from outcomes.store.engine import session_scope
from outcomes.web.context import errors_shown_plainly, get_engine, guard, show_error

viewer = guard("privacy")
settings = get_settings()
st.title("Privacy requests")
st.caption("Access (Art. 15), portability (Art. 20) and erasure (Art. 17). Every view is audited.")

with st.form("find_learner"):
    key = st.text_input("Learner ref, e-mail address or external id")
    found = st.form_submit_button("Look up")
if found:
    st.session_state.pop("privacy_record", None)
    try:
        with session_scope(get_engine()) as session:
            st.session_state["privacy_record"] = lookup(session, key=key, actor=viewer.actor)
    except OutcomesError as exc:
        show_error(exc)

record = st.session_state.get("privacy_record")
if record is not None:
    for name, frame in record_frames(record).items():
        st.subheader(name.replace("_", " ").capitalize())
        st.dataframe(frame, hide_index=True, width="stretch")
    if st.button("Prepare export (zip of JSON and CSV)"):
        with errors_shown_plainly(), session_scope(get_engine()) as session:
            exported = learner_record(
                session, learner_id=record.learner_id, actor=viewer.actor, purpose="exported"
            )
        st.session_state["privacy_zip"] = (record.learner_id, export_zip(exported))
    prepared = st.session_state.get("privacy_zip")
    if prepared is not None and prepared[0] == record.learner_id:
        st.download_button(
            "Download the export",
            prepared[1],
            file_name=f"learner-{record.learner_id}.zip",
            mime="application/zip",
            on_click="ignore",
        )
    confirmed = st.checkbox("I have verified the request and want to erase this learner")
    if st.button("Erase this learner", type="primary", disabled=not confirmed):
        try:
            with session_scope(get_engine()) as session:
                report = erase_learner(
                    session, learner_id=record.learner_id, actor=viewer.actor, settings=settings
                )
        except OutcomesError as exc:
            show_error(exc)
        else:
            st.session_state.pop("privacy_record", None)
            st.session_state.pop("privacy_zip", None)
            st.success(
                f"Erased ({report.mode}): {report.rows_deleted} rows deleted, "
                f"{report.answers_removed} free-text answers removed."
            )
