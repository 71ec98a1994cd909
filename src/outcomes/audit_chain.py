"""The audit trail's hash chain: one canonical form per event, the link, and its verification.

Pure: no database. ``outcomes.audit.record`` fills the chain as events are written, migration
0004 filled it for the events written before, and ``outcomes audit verify`` walks the rows in
id order through :func:`verify_chain`.

The definition (docs/security.md, "Audit trail"), fixed for good — every stored hash depends
on it, so changing it would break every existing trail:

* ``canonical_form(event)`` is the JSON text of the object with the keys ``action``,
  ``actor``, ``detail``, ``object_id``, ``object_type`` and ``occurred_at``, keys sorted at
  every depth, separators ``,`` and ``:`` with no spaces, non-ASCII characters escaped as
  ``\\uXXXX`` (so the text is ASCII); ``occurred_at`` written as
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, ``detail`` as the JSON value the database returns
  for it (tuples become lists, keys become strings), absent values as ``null``;
* ``chain_hash = SHA-256(prev_hash || canonical_form)``: the lowercase hex digest of the
  UTF-8 bytes of the previous event's 64-character hex ``chain_hash`` followed directly by
  this event's canonical form;
* ``prev_hash`` is the previous event's ``chain_hash`` (the event with the next lower id), and
  :data:`GENESIS_HASH` (64 zeros) for the first event.

The chain is not keyed: it shows any change to, removal of or insertion among events that is
not followed by recomputing every later hash. Rewriting the chain from the tampered event to
the end needs write access the runtime role lacks, and shows against any head hash noted
earlier (``outcomes audit verify`` prints it for that purpose).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
# How many recent links verification remembers to tell an insertion from a removal.
LOOKBACK = 10_000
CANONICAL_FIELDS = ("occurred_at", "actor", "action", "object_type", "object_id", "detail")


def canonical_timestamp(moment: dt.datetime) -> str:
    """``moment`` in UTC as ISO 8601 with microseconds and a ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stored_json(value: Any) -> Any:
    """``value`` as it comes back from a JSON column (what the database keeps of it)."""
    return None if value is None else json.loads(json.dumps(value))


def canonical_form(event: Mapping[Any, Any]) -> str:
    """The canonical text of one event (the six fields of :data:`CANONICAL_FIELDS`)."""
    object_id = event.get("object_id")
    fields = {
        "occurred_at": canonical_timestamp(event["occurred_at"]),
        "actor": event["actor"],
        "action": event["action"],
        "object_type": event.get("object_type"),
        "object_id": None if object_id is None else str(object_id),
        "detail": stored_json(event.get("detail")),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def link_hash(prev_hash: str, canonical: str) -> str:
    """``SHA-256(prev_hash || canonical)`` in lowercase hex."""
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link of a trail.

    Attributes
    ----------
    event_id:
        The id of the event where the chain stops holding: the changed event, the event
        without a hash, or the event whose link to its predecessor fails.
    kind:
        ``"changed"`` (content or hash altered after writing), ``"missing"`` (an event
        before this one was removed) or ``"inserted"`` (an event without a chain hash, or
        one that links back past its predecessor).
    sentence:
        What is wrong, in one plain sentence naming the event.
    """

    event_id: int
    kind: str
    sentence: str


@dataclass(frozen=True)
class ChainReport:
    """The result of walking a trail: how many events, the head, and the first break."""

    events: int
    head_id: int | None
    head_hash: str
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        """True when every link holds."""
        return self.broken is None

    def sentence(self) -> str:
        """The outcome in one plain sentence."""
        if self.broken is not None:
            return f"The audit trail is broken: {self.broken.sentence}"
        if self.head_id is None:
            return "The audit trail is empty, so there is nothing to verify."
        return (
            f"The audit trail is intact: {self.events:,} events, the last (id {self.head_id}) "
            f"with chain hash {self.head_hash}."
        )


def verify_chain(rows: Iterable[Mapping[Any, Any]]) -> ChainReport:
    """Walk ``rows`` (ordered by id, each with id, the canonical fields and both hashes).

    Stops at the first broken link. A removed last event, or a chain rewritten from the
    tampered event onwards, cannot show here: compare the head hash with one noted earlier.
    """
    expected_prev = GENESIS_HASH
    previous_id: int | None = None
    # The recent chain hashes and their events, to tell an inserted event (its successor
    # links past it) from a removed one (the link points at no known hash).
    recent: OrderedDict[str, int | None] = OrderedDict({GENESIS_HASH: None})
    count = 0
    for row in rows:
        event_id = int(row["id"])
        problem = _first_problem(row, event_id, expected_prev, previous_id, recent)
        if problem is not None:
            return ChainReport(count, previous_id, expected_prev, problem)
        count += 1
        expected_prev = str(row["chain_hash"])
        recent[expected_prev] = event_id
        if len(recent) > LOOKBACK:
            recent.popitem(last=False)
        previous_id = event_id
    return ChainReport(count, previous_id, expected_prev, None)


def _first_problem(
    row: Mapping[Any, Any],
    event_id: int,
    expected_prev: str,
    previous_id: int | None,
    recent: Mapping[str, int | None],
) -> ChainBreak | None:
    prev_hash, stored = row.get("prev_hash"), row.get("chain_hash")
    if not prev_hash or not stored:
        return ChainBreak(
            event_id,
            "inserted",
            f"event {event_id} has no chain hash, so it was inserted outside the application.",
        )
    if prev_hash != expected_prev:
        return _bad_link(event_id, str(prev_hash), previous_id, recent)
    if link_hash(str(prev_hash), canonical_form(row)) != stored:
        return ChainBreak(
            event_id,
            "changed",
            f"event {event_id} was changed after it was written "
            "(its content no longer matches its chain hash).",
        )
    return None


def _bad_link(
    event_id: int, prev_hash: str, previous_id: int | None, recent: Mapping[str, int | None]
) -> ChainBreak:
    if prev_hash in recent:
        # The event links back past its predecessor: either the events skipped were slipped
        # in (into a gap of ids), or this event was (a copy of an earlier one, say). Both
        # sides have valid hashes, so the chain cannot tell which; it names both.
        linked = recent[prev_hash]
        skipped = sorted(
            i for i in recent.values() if i is not None and (linked is None or i > linked)
        )
        target = "the start of the trail" if linked is None else f"event {linked}"
        if len(skipped) == 1:
            which = f"event {skipped[0]}: it was inserted, or event {event_id} was"
        else:
            which = (
                f"events {skipped[0]} to {skipped[-1]}: they were inserted, or event {event_id} was"
            )
        return ChainBreak(
            event_id, "inserted", f"event {event_id} links back to {target}, skipping {which}."
        )
    after = "the start of the trail" if previous_id is None else f"event {previous_id}"
    return ChainBreak(
        event_id,
        "missing",
        f"an event before event {event_id} is missing (removed after {after}): "
        f"event {event_id} links to a chain hash that no event has.",
    )
