"""Staff sign-in: a conventional form so password managers and screen readers work with it."""

import streamlit as st

from outcomes.auth import SIGNIN_FAILED, authenticate
from outcomes.db import session_scope
from outcomes.errors import OutcomesError
from outcomes.webapp import Viewer, get_engine, guard, show_error

guard("signin")
st.title("Sign in")
st.caption("Staff of the continuing-education unit. Graduates: use the link in your invitation.")

with st.form("signin"):
    email = st.text_input("Email", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    try:
        with session_scope(get_engine()) as session:
            user = authenticate(session, email=email, password=password)
            viewer = Viewer(user.role, user.id, user.email) if user else None
    except OutcomesError as exc:
        show_error(exc)
    else:
        if viewer is None:
            st.error(SIGNIN_FAILED)
        else:
            st.session_state["staff"] = viewer
            st.rerun()
