"""Programmes (micro-credentials) with every EU Recommendation element: list, create, edit,
retire. Managers see and change the programmes in their scope; one they create joins it."""

from typing import Any

import streamlit as st

from outcomes.access.permissions import can
from outcomes.access.staff import assigned_scope
from outcomes.records.programmes import (
    EDIT,
    LABELS,
    NOT_APPLICABLE,
    ProgrammeInvalid,
    create_programme,
    edit_programme,
    list_programmes,
    parse_create,
    parse_update,
    retire_programme,
)
from outcomes.records.programmes import (
    REQUIRED as MANDATORY,
)
from outcomes.store.engine import session_scope
from outcomes.store.reads import programme_table
from outcomes.vocab import (
    ASSESSMENT_TYPES,
    COUNTRY_NAMES,
    PARTICIPATION_FORMS,
    QUALITY_ASSURANCE_TYPES,
    SUPERVISION_TYPES,
)
from outcomes.web.context import errors_shown_plainly, get_engine, guard

viewer = guard("programmes")
st.title("Programmes")
with errors_shown_plainly(), session_scope(get_engine()) as session:
    scope = assigned_scope(session, viewer.audience, viewer.user_id)
    table = programme_table(session=session, scope=scope)
    records = list_programmes(session, scope=scope)

notice = st.session_state.pop("programmes_notice", None)
if notice:
    st.success(notice)
st.dataframe(table, hide_index=True, width="stretch")
if not can(viewer.audience, EDIT):
    st.stop()

# Each element's input: a choice where Annex I (or our vocabulary) fixes the values, else text.
CHOICES: dict[str, tuple[str, ...]] = {
    "issuer_country": ("", *COUNTRY_NAMES),
    "eqf_level": ("", *(str(n) for n in range(1, 9)), NOT_APPLICABLE),
    "assessment_type": ("", *ASSESSMENT_TYPES),
    "participation_form": ("", *PARTICIPATION_FORMS),
    "quality_assurance_type": ("", *QUALITY_ASSURANCE_TYPES),
    "supervision_type": ("", *SUPERVISION_TYPES),
    "identity_checked": ("", "yes", "no"),
}
LONG = ("learning_outcomes", "assessment_description", "prerequisites", "grade_scheme")
LONG_TOO = ("stackability", "further_information")
FORM_ELEMENTS = (
    *MANDATORY,
    "title_es",
    "assessment_description",
    "prerequisites",
    "supervision_type",
    "identity_checked",
    "grade_scheme",
    "stackability",
    "further_information",
    "industry_partners",
    "launched_on",
    "redesigned_on",
    "achievement_id",
)


def as_text(name: str, value: Any) -> str:
    """A stored value as the text its input shows."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value)
    if name == "ects":
        return f"{value:g}"
    return str(value)


def country_label(code: str) -> str:
    return f"{code} — {COUNTRY_NAMES[code]}" if code else ""


def element_inputs(form: str, current: dict[str, Any], messages: dict[str, str]) -> dict[str, str]:
    """Every element's input (mandatory ones marked *), each followed by its message."""
    values: dict[str, str] = {}
    for name in FORM_ELEMENTS:
        if form != "create" and name == "code":
            continue
        label = LABELS[name] + (" *" if name in MANDATORY else "")
        key = f"{form}_{name}"
        shown = as_text(name, current.get(name))
        if name in CHOICES:
            options = CHOICES[name]
            index = options.index(shown) if shown in options else 0
            fmt = country_label if name == "issuer_country" else str
            values[name] = st.selectbox(label, options, index=index, key=key, format_func=fmt)
        elif name in LONG or name in LONG_TOO:
            values[name] = st.text_area(label, value=shown, key=key)
        else:
            hint = "YYYY-MM-DD" if name.endswith("_on") else None
            if name == "industry_partners":
                hint = "names separated by commas"
            values[name] = st.text_input(label, value=shown, key=key, placeholder=hint)
        if name in messages:
            st.error(messages[name])
    return values


def refused(form: str, problem: ProgrammeInvalid) -> None:
    st.session_state[f"{form}_messages"] = problem.messages
    st.rerun()


def done(form: str, sentence: str) -> None:
    st.session_state.pop(f"{form}_messages", None)
    st.session_state["programmes_notice"] = sentence
    st.rerun()


create_tab, edit_tab, retire_tab = st.tabs(["Create", "Edit", "Retire"])
with create_tab, st.form("programme_create"):
    st.caption("Elements marked * are mandatory (EU Recommendation 2022/C 243/02, Annex I).")
    messages = st.session_state.get("create_messages", {})
    typed = element_inputs("create", {}, messages)
    if st.form_submit_button("Create programme"):
        with errors_shown_plainly():
            try:
                data = parse_create(typed)
                with session_scope(get_engine()) as session:
                    create_programme(
                        session,
                        data,
                        actor=viewer.actor,
                        role=viewer.audience,
                        user_id=viewer.user_id,
                    )
            except ProgrammeInvalid as problem:
                refused("create", problem)
        done("create", f"Programme {data.code} created.")

open_ones = {r["code"]: r for r in records if r["status"] != "retired"}
with edit_tab:
    if not open_ones:
        st.info("No programme to edit.")
    else:
        code = st.selectbox("Programme to edit", list(open_ones), key="edit_code")
        with st.form("programme_edit"):
            messages = st.session_state.get(f"edit_{code}_messages", {})
            typed = element_inputs(f"edit_{code}", open_ones[code], messages)
            if st.form_submit_button("Save changes"):
                with errors_shown_plainly():
                    try:
                        change = parse_update(typed)
                        with session_scope(get_engine()) as session:
                            edit_programme(
                                session,
                                code,
                                change,
                                actor=viewer.actor,
                                role=viewer.audience,
                                scope=scope,
                            )
                    except ProgrammeInvalid as problem:
                        refused(f"edit_{code}", problem)
                done(f"edit_{code}", f"Programme {code} saved.")

with retire_tab:
    if not open_ones:
        st.info("No programme to retire.")
    else:
        st.caption(
            "A retired programme keeps its credentials and history but is offered to no new "
            "survey wave. It cannot be undone here."
        )
        code = st.selectbox("Programme to retire", list(open_ones), key="retire_code")
        sure = st.checkbox(f"Yes, retire {code}", key=f"retire_sure_{code}")
        if st.button("Retire programme", disabled=not sure, key="retire_button"):
            with errors_shown_plainly(), session_scope(get_engine()) as session:
                retire_programme(
                    session, code, actor=viewer.actor, role=viewer.audience, scope=scope
                )
            done("retire", f"Programme {code} is retired.")
