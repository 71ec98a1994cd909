"""Programmes (micro-credentials) with their EU Recommendation elements."""

import streamlit as st

from outcomes.access.staff import assigned_scope
from outcomes.store.engine import session_scope
from outcomes.store.reads import programme_table
from outcomes.web.context import errors_shown_plainly, get_engine, guard

viewer = guard("programmes")
st.title("Programmes")
with errors_shown_plainly(), session_scope(get_engine()) as session:
    scope = assigned_scope(session, viewer.audience, viewer.user_id)
    table = programme_table(session=session, scope=scope)
st.dataframe(table, hide_index=True, width="stretch")
