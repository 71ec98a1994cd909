"""Staff landing page: what the viewer's programmes hold, and sign-out."""

import streamlit as st

from outcomes.access.staff import assigned_scope
from outcomes.store.engine import session_scope
from outcomes.store.reads import overview_counts
from outcomes.web.context import errors_shown_plainly, get_engine, guard, sign_out

viewer = guard("home")
st.title("Overview")
st.text(f"Signed in as {viewer.email} ({viewer.audience}).")  # e-mail as text, never Markdown
if st.button("Sign out"):
    sign_out(viewer)
    st.rerun()
with errors_shown_plainly(), session_scope(get_engine()) as session:
    scope = assigned_scope(session, viewer.audience, viewer.user_id)
    counts = overview_counts(session=session, scope=scope)
columns = st.columns(4)
for index, (name, count) in enumerate(counts.items()):
    columns[index % 4].metric(name.capitalize(), f"{count:,}")
