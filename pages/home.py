"""Staff landing page: what the institution holds."""

import streamlit as st

from outcomes.db import session_scope
from outcomes.queries import overview_counts
from outcomes.webapp import get_engine, guard

viewer = guard("home")
st.title("Overview")
st.caption(f"Signed in as {viewer.email} ({viewer.audience}).")
with session_scope(get_engine()) as session:
    counts = overview_counts(session=session)
columns = st.columns(4)
for index, (name, count) in enumerate(counts.items()):
    columns[index % 4].metric(name.capitalize(), f"{count:,}")
if st.button("Sign out"):
    st.session_state.pop("staff", None)
    st.rerun()
