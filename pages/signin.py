"""Staff sign-in: a conventional form so password managers and screen readers work with it."""

from collections.abc import Callable

import streamlit as st

from outcomes.errors import OutcomesError
from outcomes.web.context import (
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


def _attempt(sign_in: Callable[[], str | None]) -> None:
    """Run one sign-in step: show its refusal or error as one sentence, else rerun signed in."""
    try:
        refusal = sign_in()
    except OutcomesError as exc:
        show_error(exc)
        return
    if refusal:
        st.error(refusal)
    else:
        st.rerun()


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
        _attempt(lambda: sign_in_with_second_factor(code))
    if st.button("Cancel"):
        cancel_second_factor()
        st.rerun()
    st.stop()

with st.form("signin"):
    email = st.text_input("Email", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    _attempt(lambda: sign_in_with_password(email, password))

if sso_configured():
    st.divider()
    if sso_refused_identity():
        if st.button("Sign out of single sign-on"):
            st.logout()
    elif st.button("Sign in with single sign-on"):
        start_sso_sign_in()
