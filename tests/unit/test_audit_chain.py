"""The audit hash chain, without a database: its exact definition and what verification finds."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest

from outcomes.audit_chain import (
    GENESIS_HASH,
    canonical_form,
    link_hash,
    verify_chain,
)

T0 = dt.datetime(2026, 3, 1, 9, 30, 5, 1234, tzinfo=dt.UTC)


def _trail(n: int) -> list[dict[str, Any]]:
    """``n`` events chained as ``audit.record`` chains them, ids 1..n."""
    rows, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        row: dict[str, Any] = {
            "id": i,
            "occurred_at": T0 + dt.timedelta(seconds=i),
            "actor": f"staff:{i}",
            "action": "staff.created",
            "object_type": "staff_user",
            "object_id": str(i),
            "detail": {"n": i},
        }
        row["prev_hash"] = prev
        row["chain_hash"] = prev = link_hash(prev, canonical_form(row))
        rows.append(row)
    return rows


def test_the_canonical_form_is_sorted_compact_ascii_json_with_utc_microseconds() -> None:
    # Written out by hand: this text is what every stored hash depends on.
    event = {
        "occurred_at": dt.datetime(
            2026, 3, 1, 10, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))
        ),
        "actor": "cli:ana",
        "action": "privacy.erased",
        "object_type": "learner",
        "object_id": 42,
        "detail": {"z": [1, 2.5, None], "a": {"ñ": "café", "b": True}},
    }
    assert canonical_form(event) == (
        '{"action":"privacy.erased","actor":"cli:ana",'
        '"detail":{"a":{"b":true,"\\u00f1":"caf\\u00e9"},"z":[1,2.5,null]},'
        '"object_id":"42","object_type":"learner","occurred_at":"2026-03-01T09:00:00.000005Z"}'
    )


def test_absent_values_are_null_and_tuples_become_lists_as_in_a_json_column() -> None:
    bare = {"occurred_at": T0, "actor": "a", "action": "b"}
    assert canonical_form(bare) == (
        '{"action":"b","actor":"a","detail":null,"object_id":null,"object_type":null,'
        '"occurred_at":"2026-03-01T09:30:05.001234Z"}'
    )
    assert canonical_form({**bare, "detail": {"k": (1, 2), 3: "x"}}) == canonical_form(
        {**bare, "detail": {"k": [1, 2], "3": "x"}}
    )


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical_form({"occurred_at": dt.datetime(2026, 1, 1), "actor": "a", "action": "b"})


def test_the_link_is_sha256_of_the_previous_hash_then_the_canonical_text() -> None:
    prev = "ab" * 32
    expected = hashlib.sha256(("ab" * 32 + '{"x":1}').encode()).hexdigest()
    assert link_hash(prev, '{"x":1}') == expected
    assert GENESIS_HASH == "0" * 64


def test_an_intact_trail_verifies_and_names_its_head() -> None:
    rows = _trail(5)
    report = verify_chain(rows)
    assert report.intact and report.events == 5 and report.head_id == 5
    assert report.head_hash == rows[-1]["chain_hash"]
    assert report.sentence() == (
        f"The audit trail is intact: 5 events, the last (id 5) with chain hash "
        f"{rows[-1]['chain_hash']}."
    )


def test_an_empty_trail_is_intact() -> None:
    report = verify_chain([])
    assert report.intact and report.sentence().startswith("The audit trail is empty")


@pytest.mark.parametrize(
    "field, value",
    [
        ("actor", "staff:999"),
        ("detail", {"n": 3, "extra": 1}),
        ("occurred_at", T0 + dt.timedelta(seconds=3, microseconds=1)),
        ("object_id", None),
        ("chain_hash", "f" * 64),
    ],
)
def test_an_edited_event_is_named(field: str, value: object) -> None:
    rows = _trail(5)
    rows[2][field] = value
    report = verify_chain(rows)
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (3, "changed")
    assert report.events == 2 and report.head_id == 2
    assert report.sentence() == (
        "The audit trail is broken: event 3 was changed after it was written "
        "(its content no longer matches its chain hash)."
    )


def test_a_deleted_event_is_reported_at_its_successor() -> None:
    rows = _trail(5)
    del rows[2]
    report = verify_chain(rows)
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (4, "missing")
    assert "an event before event 4 is missing (removed after event 2)" in report.sentence()


def test_deleting_the_first_events_is_seen() -> None:
    report = verify_chain(_trail(4)[2:])
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (3, "missing")
    assert "removed after the start of the trail" in report.broken.sentence


def test_a_copy_of_an_earlier_event_appended_is_seen() -> None:
    rows = _trail(4)
    rows.append({**rows[1], "id": 5})
    report = verify_chain(rows)
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (5, "inserted")
    assert "skipping events 2 to 4: they were inserted, or event 5 was" in report.sentence()


def test_an_event_inserted_without_a_hash_is_named() -> None:
    rows = _trail(3)
    rows.append({**rows[-1], "id": 4, "prev_hash": None, "chain_hash": None})
    report = verify_chain(rows)
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (4, "inserted")
    assert report.intact is False and report.events == 3


def test_an_event_slipped_into_a_gap_with_a_valid_hash_is_named_at_the_skipping_link() -> None:
    rows = _trail(4)
    for row in rows[2:]:
        row["id"] += 1  # ids 1, 2, 4, 5: a gap at 3, as a rolled-back id leaves
    forged: dict[str, Any] = {
        **rows[1],
        "id": 3,
        "actor": "staff:1",
        "prev_hash": rows[1]["chain_hash"],
    }
    forged["chain_hash"] = link_hash(forged["prev_hash"], canonical_form(forged))
    report = verify_chain([*rows[:2], forged, *rows[2:]])
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (4, "inserted")
    assert report.broken.sentence == (
        "event 4 links back to event 2, skipping event 3: it was inserted, or event 4 was."
    )


def test_several_events_slipped_in_are_named_with_the_event_that_skips_them() -> None:
    rows = _trail(3)
    forged = []
    prev = rows[0]["chain_hash"]
    for i in (10, 11):
        row: dict[str, Any] = {**rows[0], "id": i, "prev_hash": prev}
        row["chain_hash"] = prev = link_hash(prev, canonical_form(row))
        forged.append(row)
    rows[1]["id"], rows[2]["id"] = 12, 13
    report = verify_chain([rows[0], *forged, rows[1], rows[2]])
    assert report.broken is not None
    assert (report.broken.event_id, report.broken.kind) == (12, "inserted")
    assert report.broken.sentence == (
        "event 12 links back to event 1, skipping events 10 to 11: they were inserted, "
        "or event 12 was."
    )
