"""The Open Badges 3.0 importer: files → validated credentials → records, with conflicts found.

``read_badges(paths, today=...)`` reads every credential (``badge_files``), validates each
against the 1EdTech JSON Schema (``badge_schema``), maps it to the import core's
:class:`CredentialRecord` (``badge_mapping``) and compares the credentials with each other:

- a credential id used by several credentials that do not agree is a **conflict** naming the
  id, the files and the fields that differ; none of those credentials is imported (nothing
  is silently overwritten). The same credential twice (every compared field equal) is read
  once.
- an achievement id used for achievements that differ (name, issuer, credits, EQF level) is
  an **achievement conflict**, reported the same way; its credentials are not imported either,
  since they cannot all belong to one programme.
- a learner (``credentialSubject.id`` or identifier entries) appearing in several files is one
  learner: the records carry the same external id, which the core matches.

**Signatures are not verified**, neither a JWT's nor an embedded ``proof``: the report says so.
Nothing here writes: the core plans and applies the records.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from outcomes.records.badge_files import BadgeDocument, read_sources
from outcomes.records.badge_mapping import MappedBadge, map_credential
from outcomes.records.badge_schema import schema_problems
from outcomes.records.model import Conflict, CredentialRecord, Origin, Problem

SIGNATURES_NOT_VERIFIED = (
    "Signatures are not verified: JWT signatures and embedded proofs are decoded or ignored, "
    "never checked; the import trusts the files as given."
)
ACHIEVEMENT_FIELDS = ("achievement name", "issuer id", "issuer name", "credits", "EQF level")


@dataclass(frozen=True)
class AchievementConflict:
    """One achievement id used for achievements that differ."""

    id: str
    origins: tuple[Origin, ...]
    differences: tuple[str, ...]

    def sentence(self) -> str:
        """The conflict as one plain sentence."""
        where = "; ".join(str(o) for o in self.origins)
        return (
            f"Achievement id {self.id!r} is used by {where} with different "
            f"{', '.join(self.differences)}."
        )


@dataclass(frozen=True)
class BadgeBatch:
    """Everything read from one import's inputs, before anything is written.

    ``records``: the importable credentials (valid, in no conflict), in input order;
    ``problems``: why each other credential cannot be imported (reading, schema, mapping);
    ``conflicts`` / ``achievement_conflicts``: reused credential / achievement ids whose
    credentials differ (all held back); ``read``: credentials read; ``from_jwt``: how many of
    them were decoded from a JWT (signature not verified); ``duplicates``: credentials that
    appeared again with the same content; ``remarks``: (origin, remark) pairs (credits from
    hours, hashed identifiers, status lists not checked, expiry); ``missing_elements``: per
    importable credential, the mandatory EU elements its achievement does not state.
    """

    records: tuple[CredentialRecord, ...]
    problems: tuple[Problem, ...]
    conflicts: tuple[Conflict, ...]
    achievement_conflicts: tuple[AchievementConflict, ...]
    read: int = 0
    from_jwt: int = 0
    duplicates: int = 0
    remarks: tuple[tuple[str, str], ...] = field(default=())
    missing_elements: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def notes(self) -> tuple[str, ...]:
        """The remarks as ``origin: remark`` lines."""
        return tuple(f"{origin}: {text}" for origin, text in self.remarks)

    def report_lines(self) -> list[str]:
        """One line per problem and per conflict, then the notice about signatures."""
        lines = [p.sentence() for p in self.problems]
        lines += [c.sentence() for c in self.conflicts]
        lines += [c.sentence() for c in self.achievement_conflicts]
        lines.append(SIGNATURES_NOT_VERIFIED)
        return lines


def read_badges(
    paths: list[Path], *, today: dt.date, progress: Callable[[int], None] | None = None
) -> BadgeBatch:
    """Read, validate, map and compare every credential in ``paths``; nothing is written.

    ``progress`` is called with the number of credentials read so far, every hundred.
    """
    problems: list[Problem] = []
    mapped: list[MappedBadge] = []
    read = from_jwt = 0
    for document in read_sources(paths):
        read += 1
        if progress is not None and read % 100 == 0:
            progress(read)
        from_jwt += document.from_jwt
        origin = _origin(document)
        if document.credential is None:
            problems.append(Problem(origin=origin, field=None, reason=document.problem or ""))
            continue
        found = schema_problems(document.credential)
        if found:
            problems += [
                Problem(
                    origin=origin,
                    field=_joined(document.pointer, p.path),
                    reason=f"does not meet the Open Badges 3.0 schema: {p.message}",
                )
                for p in found
            ]
            continue
        badge = map_credential(document.credential, origin, today=today)
        problems += badge.problems
        if badge.record is not None:
            mapped.append(badge)
    kept, conflicts, duplicates = _credential_conflicts(mapped)
    # Every achievement collision is named, also among credentials a reused id holds back.
    in_conflict, achievement_conflicts = _achievement_conflicts(mapped)
    kept = [b for b in kept if id(b) not in in_conflict]
    remarks = [(str(b.origin), note) for b in mapped for note in b.notes]
    missing = {str(b.origin): b.missing_elements for b in kept if b.missing_elements}
    return BadgeBatch(
        records=tuple(b.record for b in kept if b.record is not None),
        problems=tuple(problems),
        conflicts=tuple(conflicts),
        achievement_conflicts=tuple(achievement_conflicts),
        read=read,
        from_jwt=from_jwt,
        duplicates=duplicates,
        remarks=tuple(remarks),
        missing_elements=missing,
    )


def _origin(document: BadgeDocument) -> Origin:
    pointer = None if document.pointer == "$" else document.pointer
    return Origin(file=document.origin, pointer=pointer)


def _joined(pointer: str, path: str) -> str:
    # An array item's problems are named from the file's root: $[2].credentialSubject...
    return path if pointer == "$" else pointer + path.removeprefix("$")


def _differences(badges: list[MappedBadge], names: tuple[str, ...] | None = None) -> list[str]:
    compared = [b.facts.compared() for b in badges if b.facts is not None]
    differing: list[str] = []
    for name in names or tuple(compared[0]):
        values = list(
            dict.fromkeys("not stated" if c[name] is None else str(c[name]) for c in compared)
        )
        if len(values) > 1:
            shown = " / ".join(repr(v) for v in values) if len(values) <= 3 else None
            differing.append(f"{name} ({shown or f'{len(values)} different values'})")
    return differing


def _credential_conflicts(
    mapped: list[MappedBadge],
) -> tuple[list[MappedBadge], list[Conflict], int]:
    groups: dict[str, list[MappedBadge]] = defaultdict(list)
    for badge in mapped:
        assert badge.record is not None
        groups[badge.record.credential_id].append(badge)
    kept: list[MappedBadge] = []
    conflicts: list[Conflict] = []
    duplicates = 0
    for credential_id, badges in groups.items():
        if len(badges) == 1:
            kept.append(badges[0])
            continue
        differences = _differences(badges)
        if not differences:
            kept.append(badges[0])
            duplicates += len(badges) - 1
            continue
        conflicts.append(
            Conflict(
                id=credential_id,
                origins=tuple(b.origin for b in badges),
                differences=tuple(differences),
            )
        )
    return kept, conflicts, duplicates


def _achievement_conflicts(
    mapped: list[MappedBadge],
) -> tuple[set[int], list[AchievementConflict]]:
    groups: dict[str, list[MappedBadge]] = defaultdict(list)
    for badge in mapped:
        assert badge.facts is not None
        groups[badge.facts.achievement_id].append(badge)
    conflicted: set[int] = set()
    found: list[AchievementConflict] = []
    for achievement_id, badges in groups.items():
        differences = _differences(badges, ACHIEVEMENT_FIELDS) if len(badges) > 1 else []
        if differences:
            conflicted |= {id(b) for b in badges}
            found.append(
                AchievementConflict(
                    id=achievement_id,
                    origins=tuple(b.origin for b in badges),
                    differences=tuple(differences),
                )
            )
    return conflicted, found
