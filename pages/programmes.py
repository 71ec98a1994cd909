"""Programmes (micro-credentials) with their EU Recommendation elements."""

import streamlit as st

from outcomes.db import session_scope
from outcomes.queries import programme_table
from outcomes.webapp import get_engine, guard

guard("programmes")
st.title("Programmes")
with session_scope(get_engine()) as session:
    table = programme_table(session=session)
st.dataframe(table, hide_index=True, width="stretch")
