"""One chunk of the demo: learners and everything that hangs off them, as rows to insert.

Each chunk has its own generator (``default_rng([seed, chunk_number])``) and takes ids
from a shared ``IdCounter``, so chunks are independent and the output depends only on the
seed and the number of learners.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from outcomes.demo import rows as r
from outcomes.demo.answer_key import AnswerKeyBuilder
from outcomes.demo.fieldwork import Fieldwork, draw_fieldwork
from outcomes.demo.outcomes_model import (
    WaveOutcomes,
    draw_completion,
    draw_person_effects,
    draw_wave,
)
from outcomes.demo.people import NamePools, draw_identities, draw_learners, random_uuids
from outcomes.demo.spec import WAVE_MONTHS, InstitutionSpec
from outcomes.vocab import BASELINE_EMPLOYMENT, GENDERS, PRIOR_EDUCATION

REVOKED_SHARE = 0.004
DAYS_PER_MONTH = 30.4375
EXIT_REASONS = ("get_job", "progress", "change_career", "employer_request", "interest", "other")
EXIT_INTENTIONS = ("stay", "progress", "new_job", "own_business", "study", "other")
CONTACT_LATER_SHARE = 0.85
BASELINE_HOURS = {
    "employed_full_time": (35, 45),
    "employed_part_time": (10, 29),
    "self_employed": (15, 50),
}


@dataclass
class IdCounter:
    """Next free id per table; ``take`` reserves a block."""

    next: dict[str, int]

    def take(self, table: str, count: int) -> np.ndarray:
        first = self.next[table]
        self.next[table] = first + count
        return np.arange(first, first + count, dtype=np.int64)

    def take_one(self, table: str) -> int:
        first = self.next[table]
        self.next[table] = first + 1
        return first


@dataclass(frozen=True)
class Context:
    """What every chunk needs: the spec, pools and the ids of the shared rows."""

    spec: InstitutionSpec
    pools: NamePools
    programme_ids: np.ndarray  # by spec.programmes index
    wave_ids: dict[tuple[int, int], int]  # (award year, months) → survey_wave.id
    instrument_version_ids: dict[int, int]  # months → instrument_version.id


@dataclass
class ChunkRows:
    """Rows per table, in insert order."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, rows: list[dict[str, Any]]) -> None:
        self.tables.setdefault(table, []).extend(rows)


def _notice_versions(spec: InstitutionSpec, when: np.ndarray) -> list[str]:
    notices = sorted(spec.institution.privacy_notices, key=lambda n: n.from_)
    starts = np.array([n.from_ for n in notices], dtype="datetime64[D]")
    position = np.clip(
        np.searchsorted(starts, when.astype("datetime64[D]"), side="right") - 1, 0, None
    )
    versions = np.array([n.version for n in notices], dtype=object)
    return versions[position].tolist()


def _token_hashes(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    return [hashlib.sha256(row.tobytes()).hexdigest() for row in raw]


def _add_not_sent(
    out: ChunkRows,
    context: Any,
    ids: Any,
    work: Fieldwork,
    completion: Any,
    learner_id: np.ndarray,
    enrolment_id: np.ndarray,
    learners: Any,
) -> None:
    """Rows for graduates of the wave's cohort who were not sent it (they opted out earlier).

    The invitation table holds the wave's whole population, sent or not, so that the
    knowledge rate's denominator is every graduate of the cohort (NACE); the response rate
    counts only those sent an invitation. Their token hashes come from the invitation id,
    not the random stream, so adding these rows leaves every other value unchanged.
    """
    idx = np.flatnonzero(work.due & ~work.invited)
    if idx.size == 0:
        return
    invitation_id = ids.take("invitation", idx.size).tolist()
    exit_year = completion.ended_on[idx].astype("datetime64[Y]").astype(np.int64) + 1970
    none = [None] * idx.size
    out.add(
        "invitation",
        r.records(
            {
                "id": invitation_id,
                "wave_id": [context.wave_ids[(y, work.months)] for y in exit_year.tolist()],
                "learner_id": learner_id[idx].tolist(),
                "enrolment_id": enrolment_id[idx].tolist(),
                "token_hash": [
                    hashlib.sha256(f"not-sent:{number}".encode()).hexdigest()
                    for number in invitation_id
                ],
                "expires_at": r.timestamps(work.expires_at[idx]),
                "language": np.where(learners.spanish[idx], "es", "en").tolist(),
                "sent_at": none,
                "reminded_at": none,
                "reminders": [0] * idx.size,
                "opened_at": none,
                "submitted_at": none,
                # The earlier opt-out is why nothing was sent; recorded at the planned send.
                "opted_out_at": r.timestamps(work.sent_at[idx]),
            }
        ),
    )


def _survey_extras(rng: np.random.Generator, learners: Any, n: int) -> dict[str, np.ndarray]:
    baseline = np.array(BASELINE_EMPLOYMENT, dtype=object)[learners.baseline_employment]
    hours = np.zeros(n, dtype=np.int64)
    for status, (low, high) in BASELINE_HOURS.items():
        mask = baseline == status
        hours[mask] = rng.integers(low, high + 1, int(mask.sum()))
    return {
        "baseline_code": np.array([r.BASELINE_CODE[b] for b in baseline], dtype=object),
        "baseline_hours": hours,
        "baseline_salary": learners.baseline_salary,
        "reason": np.array(EXIT_REASONS, dtype=object)[rng.integers(0, len(EXIT_REASONS), n)],
        "teaching": rng.choice(np.arange(1, 6), n, p=[0.03, 0.07, 0.15, 0.45, 0.30]),
        "relevance": rng.choice(np.arange(1, 6), n, p=[0.04, 0.10, 0.18, 0.42, 0.26]),
        "workload": rng.choice(np.arange(1, 6), n, p=[0.05, 0.15, 0.30, 0.35, 0.15]),
        "intention": np.array(EXIT_INTENTIONS, dtype=object)[
            rng.integers(0, len(EXIT_INTENTIONS), n)
        ],
        "contact_later": rng.random(n) < CONTACT_LATER_SHARE,
        "helped_career": rng.choice(np.arange(1, 6), n, p=[0.05, 0.10, 0.20, 0.40, 0.25]),
    }


def build_chunk(
    rng: np.random.Generator,
    context: Context,
    ids: IdCounter,
    key: AnswerKeyBuilder,
    *,
    first_number: int,
    n: int,
) -> ChunkRows:
    """Draw ``n`` learners and every row that depends on them."""
    spec = context.spec
    out = ChunkRows()
    learners = draw_learners(rng, spec, first_number, n)
    identities = draw_identities(rng, spec, context.pools, learners)
    completion = draw_completion(rng, spec, learners)
    person = draw_person_effects(rng, spec, learners)
    key.add_completion(completion)

    learner_id = ids.take("learner", n)
    consent_at = (
        learners.started_on.astype("datetime64[s]")
        - rng.integers(1, 21, n).astype("timedelta64[D]")
        + rng.integers(8 * 3600, 20 * 3600, n).astype("timedelta64[s]")
    )
    consent = r.timestamps(consent_at)
    out.add(
        "learner",
        r.records(
            {
                "id": learner_id.tolist(),
                "ref": random_uuids(rng, n),
                "preferred_language": np.where(learners.spanish, "es", "en").tolist(),
                "birth_year": learners.birth_year.tolist(),
                "gender": [GENDERS[g] for g in learners.gender.tolist()],
                "prior_education": [PRIOR_EDUCATION[e] for e in learners.prior_education.tolist()],
                "baseline_employment": [
                    BASELINE_EMPLOYMENT[e] for e in learners.baseline_employment.tolist()
                ],
                "baseline_salary": r.floats(learners.baseline_salary),
                "consent_at": consent,
                "privacy_notice_version": _notice_versions(spec, consent_at),
                "created_at": consent,
            }
        ),
    )
    out.add(
        "learner_identity",
        r.records(
            {
                "learner_id": learner_id.tolist(),
                "given_name": identities.given_name,
                "family_name": identities.family_name,
                "email": identities.email,
            }
        ),
    )
    start_year = learners.started_on.astype("datetime64[Y]").astype(np.int64) + 1970
    out.add(
        "learner_external_id",
        r.records(
            {
                "id": ids.take("learner_external_id", n).tolist(),
                "learner_id": learner_id.tolist(),
                "scheme": [spec.institution.student_record_scheme] * n,
                "value": [
                    f"UE-{y}-{k:07d}"
                    for y, k in zip(start_year.tolist(), learners.number.tolist(), strict=True)
                ],
            }
        ),
    )
    enrolment_id = ids.take("enrolment", n)
    programme_id = context.programme_ids[learners.programme]
    out.add(
        "enrolment",
        r.records(
            {
                "id": enrolment_id.tolist(),
                "learner_id": learner_id.tolist(),
                "programme_id": programme_id.tolist(),
                "started_on": r.dates(learners.started_on),
                "ended_on": r.dates(completion.ended_on),
                "status": completion.status.tolist(),
            }
        ),
    )
    _credentials(rng, spec, ids, out, completion, learner_id, programme_id, enrolment_id)

    extras = _survey_extras(rng, learners, n)
    declined = np.zeros(n, dtype=bool)  # opted out, or asked not to be contacted again
    for months in WAVE_MONTHS:
        wave = draw_wave(rng, spec, learners, person, completion.treated, months)
        work = draw_fieldwork(
            rng, spec, learners, completion.treated, completion.ended_on, declined, wave
        )
        if months > 0:
            key.add_wave(learners, completion.treated, wave, work)
        declined |= _wave_rows(
            rng,
            context,
            ids,
            out,
            wave,
            work,
            extras,
            learners,
            completion,
            learner_id,
            enrolment_id,
        )
    return out


def _credentials(rng, spec, ids, out, completion, learner_id, programme_id, enrolment_id) -> None:
    idx = np.flatnonzero(completion.treated)
    k = idx.size
    issued = completion.ended_on[idx]
    today = np.datetime64(spec.institution.today, "D")
    revoked_on = issued + rng.integers(30, 400, k).astype("timedelta64[D]")
    revoked = (rng.random(k) < REVOKED_SHARE) & (revoked_on < today)
    grade = np.clip(rng.normal(7.4, 1.1, k), 5.0, 10.0)
    out.add(
        "credential",
        r.records(
            {
                "id": ids.take("credential", k).tolist(),
                "learner_id": learner_id[idx].tolist(),
                "programme_id": programme_id[idx].tolist(),
                "enrolment_id": enrolment_id[idx].tolist(),
                "issued_on": r.dates(issued),
                "external_id": ["urn:uuid:" + u for u in random_uuids(rng, k)],
                "grade": [f"{g:.1f}" for g in grade.tolist()],
                "status": np.where(revoked, "revoked", "active").tolist(),
                "revoked_on": r.dates(np.where(revoked, revoked_on, np.datetime64("NaT"))),
                "source": ["demo"] * k,
            }
        ),
    )


def _wave_rows(
    rng: np.random.Generator,
    context: Context,
    ids: IdCounter,
    out: ChunkRows,
    wave: WaveOutcomes,
    work: Fieldwork,
    extras: dict[str, np.ndarray],
    learners: Any,
    completion: Any,
    learner_id: np.ndarray,
    enrolment_id: np.ndarray,
) -> np.ndarray:
    """Invitations, responses, revisions and outcomes of one wave; returns who declined."""
    spec = context.spec
    months = work.months
    currency = spec.institution.currency
    floor = spec.planted.salary.floor
    idx = np.flatnonzero(work.invited)
    k = idx.size
    invitation_id = ids.take("invitation", k)
    exit_year = completion.ended_on[idx].astype("datetime64[Y]").astype(np.int64) + 1970
    wave_id = [context.wave_ids[(y, months)] for y in exit_year.tolist()]
    language = np.where(learners.spanish[idx], "es", "en").tolist()
    out.add(
        "invitation",
        r.records(
            {
                "id": invitation_id.tolist(),
                "wave_id": wave_id,
                "learner_id": learner_id[idx].tolist(),
                "enrolment_id": enrolment_id[idx].tolist(),
                "token_hash": _token_hashes(rng, k),
                "expires_at": r.timestamps(work.expires_at[idx]),
                "language": language,
                "sent_at": r.timestamps(work.sent_at[idx]),
                "reminded_at": r.timestamps(work.reminded_at[idx]),
                "reminders": work.reminders[idx].tolist(),
                "opened_at": r.timestamps(work.opened_at[idx]),
                "submitted_at": r.timestamps(work.submitted_at[idx]),
                "opted_out_at": r.timestamps(work.opted_out_at[idx]),
            }
        ),
    )
    _add_not_sent(out, context, ids, work, completion, learner_id, enrolment_id, learners)
    values = r.wave_values(wave, extras, idx)
    responded = work.responded[idx].tolist()
    partial = work.partial[idx].tolist()
    revised = work.revised[idx].tolist()
    keep = rng.integers(1, 5, k).tolist()
    started = r.timestamps(work.started_at[idx])
    first_saved = r.timestamps(work.first_saved_at[idx])
    saved = r.timestamps(work.saved_at[idx])
    submitted = r.timestamps(work.submitted_at[idx])
    ended = r.dates(completion.ended_on[idx])
    source = work.other_source[idx].tolist()
    observed_other = r.dates(work.other_observed_on[idx])
    version_id = context.instrument_version_ids[months]
    declined = np.zeros(len(learner_id), dtype=bool)
    declined[idx] = ~np.isnat(work.opted_out_at[idx])
    responses, revisions, outcomes = [], [], []
    for j in range(k):
        base = {
            "learner_id": int(learner_id[idx[j]]),
            "enrolment_id": int(enrolment_id[idx[j]]),
            "wave_id": wave_id[j],
        }
        v = values[j]
        if responded[j]:
            full = (
                r.exit_answers(v, currency)
                if months == 0
                else r.follow_up_answers(v, months, currency)
            )
            answers = r.first_answers(full, keep[j]) if partial[j] else full
            if months == 0 and answers.get("contact_later") is False:
                declined[idx[j]] = True
            response_id = ids.take_one("response")
            status = "partial" if partial[j] else "complete"
            responses.append(
                {
                    "id": response_id,
                    "invitation_id": int(invitation_id[j]),
                    "instrument_version_id": version_id,
                    "answers": answers,
                    "language": language[j],
                    "status": status,
                    "revision": 2 if revised[j] else 1,
                    "started_at": started[j],
                    "updated_at": saved[j],
                    "submitted_at": submitted[j],
                }
            )
            if revised[j]:
                revisions.append(
                    {
                        "response_id": response_id,
                        "revision": 1,
                        "answers": r.first_answers(full, keep[j]),
                        "status": "partial",
                        "saved_at": first_saved[j],
                    }
                )
            revisions.append(
                {
                    "response_id": response_id,
                    "revision": 2 if revised[j] else 1,
                    "answers": answers,
                    "status": status,
                    "saved_at": saved[j],
                }
            )
            saved_at, ended_on = saved[j], ended[j]
            assert saved_at is not None and ended_on is not None  # responded → both known
            observed_on = saved_at.date()
            since = round((observed_on - ended_on).days / DAYS_PER_MONTH, 1)
            row = r.survey_outcome(answers, months_since_award=since, salary_floor=floor)
            outcomes.append(
                {
                    **base,
                    "response_id": response_id,
                    "source": "survey",
                    "observed_on": observed_on,
                    **row,
                }
            )
        elif months > 0 and source[j] is not None:
            row = r.source_outcome(v, source[j])
            outcomes.append(
                {
                    **base,
                    "response_id": None,
                    "source": source[j],
                    "observed_on": observed_other[j],
                    **row,
                }
            )
    out.add("response", responses)
    for rev in revisions:
        rev["id"] = ids.take_one("response_revision")
    out.add("response_revision", revisions)
    for o in outcomes:
        o["id"] = ids.take_one("outcome")
    out.add("outcome", outcomes)
    return declined
