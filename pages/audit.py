"""The audit trail (administrators and reviewers)."""

import streamlit as st

from outcomes.db import session_scope
from outcomes.queries import audit_table
from outcomes.webapp import get_engine, guard

guard("audit")
st.title("Audit trail")
with session_scope(get_engine()) as session:
    table = audit_table(session=session)
st.dataframe(table, hide_index=True, width="stretch")
