"""Staff accounts (administrators only)."""

import streamlit as st

from outcomes.db import session_scope
from outcomes.queries import staff_table
from outcomes.webapp import get_engine, guard

guard("users")
st.title("Staff users")
with session_scope(get_engine()) as session:
    table = staff_table(session=session)
st.dataframe(table, hide_index=True, width="stretch")
