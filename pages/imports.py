"""Import records: upload a CSV of credential records, confirm how it is read, import once."""

import pandas as pd
import streamlit as st

from outcomes.access.permissions import can
from outcomes.access.staff import assigned_scope
from outcomes.records.csv_import import (
    COLUMN_NAMES,
    DATE_ORDERS,
    DELIMITERS,
    CsvOptions,
    template_csv,
)
from outcomes.records.uploads import check_upload, import_upload, upload_key
from outcomes.store.engine import session_scope
from outcomes.web.context import errors_shown_plainly, get_engine, guard

IGNORE = "(ignore)"
DONE_KEY = "imports_done"  # idempotency keys of the imports this browser session ran

viewer = guard("imports")
st.title("Import records")
st.caption(
    "A CSV export of credential records: checked in full first, nothing written until you "
    "confirm, and importing the same file again changes nothing."
)
st.download_button(
    "Download the CSV template", template_csv(), "credentials-template.csv", "text/csv"
)
if not can(viewer.audience, "records.import"):
    st.stop()
with errors_shown_plainly(), session_scope(get_engine()) as session:
    scope = assigned_scope(session, viewer.audience, viewer.user_id)

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

done = st.session_state.setdefault(DONE_KEY, {})
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

skip_invalid = False
if summary.rejected:
    skip_invalid = st.checkbox(
        f"Import the {summary.added + summary.updated + summary.unchanged:,} valid records and "
        f"leave the {summary.rejected:,} rejected ones out"
    )
ready = not summary.rejected or skip_invalid
key = upload_key(data, options, skip_invalid=skip_invalid)
clicked = st.button("Import", type="primary", disabled=not ready or key in done)
if clicked and key not in done:  # a second click, or a rerun, never imports again
    with errors_shown_plainly():
        outcome = import_upload(
            get_engine(),
            data,
            upload.name,
            options,
            actor=viewer.actor,
            skip_invalid=skip_invalid,
            programme_scope=scope,
        )
    done[key] = (outcome.result.report.sentence(), outcome.rejects_csv)
if key in done:
    sentence, rejects = done[key]
    st.success(sentence)
    if rejects:
        st.download_button(
            "Download the rejected rows with their reasons",
            rejects,
            f"{file.name.rsplit('.', 1)[0]}.rejects.csv",
            "text/csv",
        )
