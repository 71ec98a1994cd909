"""The audit trail (administrators and reviewers): view and export as CSV."""

import streamlit as st

from outcomes.access.audit_view import audit_trail, export_audit_csv
from outcomes.store.engine import session_scope
from outcomes.web.context import errors_shown_plainly, get_engine, guard

viewer = guard("audit")
st.title("Audit trail")
action = st.text_input("Only this action (e.g. signin.failed)").strip() or None
with errors_shown_plainly(), session_scope(get_engine()) as session:
    table = audit_trail(session, role=viewer.audience, action=action)
st.dataframe(table, hide_index=True, width="stretch")

if st.button("Prepare CSV export"):
    with errors_shown_plainly(), session_scope(get_engine()) as session:
        st.session_state["audit_csv"] = export_audit_csv(
            session, role=viewer.audience, actor=viewer.actor
        )
if "audit_csv" in st.session_state:
    st.download_button(
        "Download audit trail (CSV)",
        st.session_state["audit_csv"],
        file_name="audit-trail.csv",
        mime="text/csv",
        on_click="ignore",
    )
