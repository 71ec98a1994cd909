"""Staff sign-in: a conventional form so password managers and screen readers work with it."""

import streamlit as st

from outcomes.errors import OutcomesError
from outcomes.webapp import (
    cancel_second_factor,
    guard,
    second_factor_pending,
    show_error,
    sign_in_with_password,
    sign_in_with_second_factor,
    sso_configured,
    sso_refused_identity,
    start_sso_sign_in,
    take_notice,
)

guard("signin")
st.title("Sign in")
st.caption("Staff of the continuing-education unit. Graduates: use the link in your invitation.")

notice = take_notice()
if notice:
    st.info(notice)

if second_factor_pending():
    with st.form("second_factor"):
        code = st.text_input(
            "Code from your authenticator app, or a recovery code", autocomplete="one-time-code"
        )
        submitted = st.form_submit_button("Continue", type="primary")
    if submitted:
        try:
            refusal = sign_in_with_second_factor(code)
        except OutcomesError as exc:
            show_error(exc)
        else:
            if refusal:
                st.error(refusal)
            else:
                st.rerun()
    if st.button("Cancel"):
        cancel_second_factor()
        st.rerun()
    st.stop()

with st.form("signin"):
    email = st.text_input("Email", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    try:
        refusal = sign_in_with_password(email, password)
    except OutcomesError as exc:
        show_error(exc)
    else:
        if refusal:
            st.error(refusal)
        else:
            st.rerun()

if sso_configured():
    st.divider()
    if sso_refused_identity():
        if st.button("Sign out of single sign-on"):
            st.logout()
    elif st.button("Sign in with single sign-on"):
        start_sso_sign_in()
