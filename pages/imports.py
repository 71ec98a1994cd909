"""Import records: upload a CSV or Open Badges 3.0 files, check them, confirm, import once."""

import datetime as dt
from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st

from outcomes.access.permissions import can
from outcomes.access.staff import assigned_scope
from outcomes.records.badge_uploads import (
    UPLOAD_SUFFIXES,
    BadgeUploadReport,
    UploadedFile,
    badge_upload,
    badge_upload_key,
)
from outcomes.records.csv_import import (
    COLUMN_NAMES,
    DATE_ORDERS,
    DELIMITERS,
    CsvOptions,
    template_csv,
)
from outcomes.records.importing import ImportSummary
from outcomes.records.uploads import check_upload, import_upload, upload_key
from outcomes.store.engine import session_scope
from outcomes.web.context import errors_shown_plainly, get_engine, guard

IGNORE = "(ignore)"
DONE_KEY = "imports_done"  # idempotency keys of the imports this browser session ran

viewer = guard("imports")
st.title("Import records")
st.caption(
    "A CSV export of credential records, or Open Badges 3.0 credentials: checked in full "
    "first, nothing written until you confirm, and importing the same files again changes "
    "nothing."
)
st.download_button(
    "Download the CSV template", template_csv(), "credentials-template.csv", "text/csv"
)
if not can(viewer.audience, "records.import"):
    st.stop()
with errors_shown_plainly(), session_scope(get_engine()) as session:
    scope = assigned_scope(session, viewer.audience, viewer.user_id)
done = st.session_state.setdefault(DONE_KEY, {})

BADGES = "Open Badges 3.0 (.json, .jwt, .zip)"
kind = st.radio("What are you importing?", ["CSV export", BADGES], horizontal=True)


def offer_skip(summary: ImportSummary, noun: str) -> bool:
    """With rejected records, the box that imports the valid ones and leaves those out."""
    if not summary.rejected:
        return False
    valid = summary.added + summary.updated + summary.unchanged
    return st.checkbox(
        f"Import the {valid:,} valid {noun} and leave the {summary.rejected:,} rejected ones out"
    )


def import_once(
    key: str,
    *,
    ready: bool,
    run: Callable[[], tuple[str, bytes | None]],
    rejects: tuple[str, str, str],
) -> None:
    """The Import button: ``run`` once per key, however often it is pressed; its result."""
    clicked = st.button("Import", type="primary", disabled=not ready or key in done)
    if clicked and key not in done:  # a second click, or a rerun, never imports again
        with errors_shown_plainly():
            done[key] = run()
    if key in done:
        sentence, data = done[key]
        st.success(sentence)
        if data:
            label, name, mime = rejects
            st.download_button(label, data, name, mime)


def show_badge_report(check: BadgeUploadReport) -> None:
    """The check of Open Badges files: counts, problems, conflicts, new programmes, notes."""
    st.subheader("Validation report")
    st.text(check.read_sentence())
    st.warning(check.signatures)
    cells = st.columns(5)
    for cell, (label, value) in zip(cells, check.report.summary.model_dump().items(), strict=True):
        cell.metric(label.capitalize(), f"{value:,}")
    if check.problems:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "where": str(p.origin),
                        "JSON path": p.field,
                        "value": p.value,
                        "reason": p.reason,
                    }
                    for p in check.problems
                ]
            ),
            hide_index=True,
        )
    for conflict in check.conflicts:
        st.text(conflict)
    if check.new_programmes:
        st.text("Programmes the import creates (complete the stand-ins on the Programmes page):")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "code": n.code,
                        "title": n.title,
                        "stand-ins for": ", ".join(n.stand_ins) or "none",
                    }
                    for n in check.new_programmes
                ]
            ),
            hide_index=True,
        )
    for note in check.notes:
        st.text(f"Note: {note}")


if kind == BADGES:
    uploads = st.file_uploader(
        "Open Badges files",
        type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
        accept_multiple_files=True,
    )
    if not uploads:
        st.stop()
    files = [UploadedFile(u.name, u.getvalue()) for u in uploads]
    upload_badges = partial(
        badge_upload,
        get_engine(),
        files,
        actor=viewer.actor,
        today=dt.date.today(),
        programme_scope=scope,
    )
    check_key = (badge_upload_key(files, skip_invalid=False), len(done))
    kept = st.session_state.get("imports_badge_check")
    if kept is not None and kept[0] == check_key:
        badge_check = kept[1]
    else:
        with errors_shown_plainly():
            badge_check = upload_badges(dry_run=True, skip_invalid=False)
        st.session_state["imports_badge_check"] = (check_key, badge_check)
    show_badge_report(badge_check)
    summary = badge_check.report.summary
    skip_invalid = offer_skip(summary, "credentials")
    import_once(
        badge_upload_key(files, skip_invalid=skip_invalid),
        ready=not summary.rejected or skip_invalid,
        run=lambda: upload_badges(dry_run=False, skip_invalid=skip_invalid).done(),
        rejects=(
            "Download the rejected credentials with their reasons",
            "credentials.rejected.json",
            "application/json",
        ),
    )
    st.stop()

upload = st.file_uploader("CSV file", type=["csv", "tsv", "txt"])
if upload is None:
    st.stop()
data = upload.getvalue()

left, middle, right = st.columns(3)
encoding = left.selectbox("Encoding", ["detected", "utf-8", "utf-8-sig", "cp1252", "latin-1"])
delimiter_names = {name: value for value, name in DELIMITERS.items()}
delimiter = middle.selectbox("Delimiter", ["detected", *delimiter_names])
dates = right.selectbox(
    "Dates",
    DATE_ORDERS,
    format_func=lambda d: {"iso": "YYYY-MM-DD", "dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY"}[d],
)
mapping = st.session_state.get(("imports_mapping", upload.file_id), {})
options = CsvOptions(
    encoding=None if encoding == "detected" else encoding,
    delimiter=None if delimiter == "detected" else delimiter_names[delimiter],
    mapping=dict(mapping),
    dates=dates,
)

# The check (a dry run of the whole file) is kept for the reruns that change nothing it reads,
# and made again after an import: one entry, for this upload and these options.
check_key = (upload_key(data, options, skip_invalid=False), len(done))
kept = st.session_state.get("imports_check")
if kept is not None and kept[0] == check_key:
    check = kept[1]
else:
    with errors_shown_plainly():
        check = check_upload(
            get_engine(), data, upload.name, options, actor=viewer.actor, programme_scope=scope
        )
    st.session_state["imports_check"] = (check_key, check)
file = check.file
st.subheader("How the file is read")
st.text(
    f"Encoding: {file.encoding.value} ({file.encoding.how}). "
    f"Delimiter: {DELIMITERS.get(file.delimiter.value, file.delimiter.value)} "
    f"({file.delimiter.how}). About {file.estimated_rows:,} rows."
)
header, *first_rows = check.preview
width = len(header)
st.dataframe(
    pd.DataFrame(
        [(row + [""] * width)[:width] for row in first_rows],
        columns=[f"{i + 1}. {h}" for i, h in enumerate(header)],
    ),
    hide_index=True,
)

st.subheader("Column mapping")
mapped = {index: name for name, index in file.mapping.columns.items()}
table = pd.DataFrame(
    {
        "file header": list(file.mapping.header),
        "our column": [mapped.get(i, IGNORE) for i in range(len(file.mapping.header))],
    }
)
edited = st.data_editor(
    table,
    hide_index=True,
    disabled=["file header"],
    column_config={"our column": st.column_config.SelectboxColumn(options=[IGNORE, *COLUMN_NAMES])},
    key=f"mapping-{upload.file_id}",
)
wanted = {
    h: c for h, c in zip(edited["file header"], edited["our column"], strict=True) if c != IGNORE
}
detected = {
    h: c for h, c in zip(table["file header"], table["our column"], strict=True) if c != IGNORE
}
if wanted != detected and st.button("Apply this mapping"):
    st.session_state[("imports_mapping", upload.file_id)] = wanted
    st.rerun()

report = check.report
st.subheader("Validation report")
summary = report.summary
cells = st.columns(5)
for cell, (label, value) in zip(cells, summary.model_dump().items(), strict=True):
    cell.metric(label.capitalize(), f"{value:,}")
if report.problems:
    st.dataframe(
        pd.DataFrame(
            [
                {"where": str(p.origin), "column": p.field, "value": p.value, "reason": p.reason}
                for p in report.problems
            ]
        ),
        hide_index=True,
    )
for conflict in report.conflicts:
    st.text(conflict.sentence())
for warning in report.warnings:
    st.text(f"Note: {warning.sentence()}")

skip_invalid = offer_skip(summary, "records")
import_once(
    upload_key(data, options, skip_invalid=skip_invalid),
    ready=not summary.rejected or skip_invalid,
    run=lambda: import_upload(
        get_engine(),
        data,
        upload.name,
        options,
        actor=viewer.actor,
        skip_invalid=skip_invalid,
        programme_scope=scope,
    ).done(),
    rejects=(
        "Download the rejected rows with their reasons",
        f"{file.name.rsplit('.', 1)[0]}.rejects.csv",
        "text/csv",
    ),
)
