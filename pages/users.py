"""Staff accounts (administrators only): add, change role, deactivate, unlock, reset, sign out."""

import streamlit as st

from outcomes.access.sessions import now
from outcomes.access.staff import (
    change_role,
    create_staff_user,
    programme_choices,
    reset_password,
    reset_second_factor,
    set_active,
    set_programme_scope,
    staff_frame,
    unlock,
)
from outcomes.access.staff_sessions import end_sessions_by_admin
from outcomes.config import get_settings
from outcomes.errors import OutcomesError
from outcomes.store.engine import session_scope
from outcomes.vocab import ROLES
from outcomes.web.context import errors_shown_plainly, get_engine, guard, show_error

viewer = guard("users")
settings = get_settings()
st.title("Staff users")
with errors_shown_plainly(), session_scope(get_engine()) as session:
    table = staff_frame(session)
    codes = programme_choices(session)
st.dataframe(table, hide_index=True, width="stretch")
if table["locked until"].notna().any():
    st.caption(
        "A locked account's password sign-in waits until the time shown (UTC), then works "
        "again by itself; Unlock lifts the lock now. Single sign-on is never locked."
    )

add_tab, change_tab = st.tabs(["Add a user", "Change a user"])
with add_tab, st.form("add_user", clear_on_submit=True):
    email = st.text_input("Email of the new user")
    name = st.text_input("Display name")
    role = st.selectbox("Role", ROLES)
    every = st.checkbox("All programmes (a manager sees every programme)")
    scope = st.multiselect("Or limit a manager to these programmes", codes)
    password = st.text_input(
        "Initial password (temporary: changed at first sign-in; empty: single sign-on only)",
        type="password",
    )
    if st.form_submit_button("Add user"):
        try:
            with session_scope(get_engine()) as session:
                create_staff_user(
                    session,
                    email=email,
                    role=role,
                    password=password or None,
                    actor=viewer.actor,
                    display_name=name or None,
                    programme_codes=scope,
                    all_programmes=every,
                )
        except OutcomesError as exc:
            show_error(exc)
        else:
            st.success("The user was added.")

with change_tab:
    users = dict(zip(table["id"], table["email"], strict=True))
    chosen = st.selectbox("User", list(users), format_func=lambda i: str(users[i]))
    new_role = st.selectbox("New role", ROLES)
    new_every = st.checkbox("All programmes", key="scope_all")
    new_scope = st.multiselect(
        "Or these programmes (managers only; neither: none)", codes, key="scope"
    )
    actions = {
        "Change role": lambda s: change_role(s, user_id=chosen, role=new_role, actor=viewer.actor),
        "Save programmes": lambda s: set_programme_scope(
            s,
            user_id=chosen,
            programme_codes=new_scope,
            all_programmes=new_every,
            actor=viewer.actor,
        ),
        "Deactivate": lambda s: set_active(s, user_id=chosen, active=False, actor=viewer.actor),
        "Reactivate": lambda s: set_active(s, user_id=chosen, active=True, actor=viewer.actor),
        "Unlock": lambda s: unlock(s, user_id=chosen, actor=viewer.actor, settings=settings),
    }
    columns = st.columns(len(actions))
    for column, (label, action) in zip(columns, actions.items(), strict=True):
        if chosen is not None and column.button(label):
            try:
                with session_scope(get_engine()) as session:
                    action(session)
            except OutcomesError as exc:
                show_error(exc)
            else:
                st.success(f"{label}: done.")

    # Account security: a generated temporary password (shown once), signing out everywhere,
    # removing a lost second factor. Each ends the user's sessions; each is audited.
    st.divider()
    reset_column, end_column, factor_column = st.columns(3)
    if chosen is not None and reset_column.button("Reset password"):
        try:
            with session_scope(get_engine()) as session:
                temporary = reset_password(
                    session, user_id=chosen, actor=viewer.actor, settings=settings
                )
        except OutcomesError as exc:
            show_error(exc)
        else:
            st.success(
                "Give the user this temporary password by a separate channel. It is shown once "
                "and works for one sign-in, which must choose their own password."
            )
            st.code(temporary, language=None)
    if chosen is not None and end_column.button("End sessions"):
        try:
            with session_scope(get_engine()) as session:
                ended = end_sessions_by_admin(session, user_id=chosen, actor=viewer.actor, at=now())
        except OutcomesError as exc:
            show_error(exc)
        else:
            st.success(f"Ended {ended} session(s): the user is signed out on their next click.")
    if chosen is not None and factor_column.button("Reset second factor"):
        try:
            with session_scope(get_engine()) as session:
                reset_second_factor(session, user_id=chosen, actor=viewer.actor, at=now())
        except OutcomesError as exc:
            show_error(exc)
        else:
            st.success("The second factor was removed; the user sets up a new one at sign-in.")
