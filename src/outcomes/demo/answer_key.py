"""The answer key: the planted truth written next to the data, for checking estimators.

Sample ATTs are sums over treated learners of the simulated potential outcomes, collected
chunk by chunk: for full-time employment both the expected version, mean of
P(y=1 | treated) − P(y=1 | not treated), and the realised one, mean of Y(1) − Y(0); for log
salary the mean over treated of log S(1) − log S(0) of the latent full-time salary.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from outcomes.demo.fieldwork import Fieldwork
from outcomes.demo.outcomes_model import FULL_TIME, Completion, WaveOutcomes
from outcomes.demo.people import Learners
from outcomes.demo.spec import InstitutionSpec
from outcomes.private_files import make_private_directories, replace_private_file

# The exit instrument asks about the course, not the current activity: no ATT at 0 months.
FOLLOW_UP_MONTHS = (6, 36)

_SUMS = ("n", "dp", "dy", "dlog")
ANSWER_KEY_NAME = "answer-key.json"


def answer_key_path(database_url: str) -> Path:
    """Where the answer key goes: next to a SQLite file, else ``var/answer-key.json``."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / ANSWER_KEY_NAME
    return Path("var") / ANSWER_KEY_NAME


def _empty() -> dict[str, float]:
    return dict.fromkeys(_SUMS, 0.0)


class AnswerKeyBuilder:
    """Accumulates the truth over chunks; ``build()`` returns the JSON-ready key."""

    def __init__(self, spec: InstitutionSpec, *, seed: int, learners: int) -> None:
        self.spec = spec
        self.seed = seed
        self.learners = learners
        self.att: dict[tuple[str, int, str], dict[str, float]] = defaultdict(_empty)
        self.naive: dict[tuple[int, bool], list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.response: dict[tuple[int, bool, bool], list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.completion: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def add_completion(self, completion: Completion) -> None:
        """Record the selection model's probabilities by final enrolment status."""
        for status in ("completed", "withdrawn", "in_progress"):
            mask = completion.status == status
            acc = self.completion[status]
            acc[0] += float(mask.sum())
            acc[1] += float(completion.probability[mask].sum())

    def add_wave(
        self, learners: Learners, treated: np.ndarray, wave: WaveOutcomes, work: Fieldwork
    ) -> None:
        """Add one wave of one chunk: ATT sums, naive means, response propensities."""
        m = wave.months
        due = work.due
        on_treatment = due & treated
        codes = [p.code for p in self.spec.programmes]
        dp = wave.p1 - wave.p0
        dy = wave.full_time1.astype(float) - wave.full_time0.astype(float)
        dlog = wave.log_salary1 - wave.log_salary0
        groups = [("all", on_treatment)] + [
            (code, on_treatment & (learners.programme == p)) for p, code in enumerate(codes)
        ]
        for code, mask in groups:
            for period, period_mask in self._periods(code, learners, mask):
                acc = self.att[(code, m, period)]
                acc["n"] += float(period_mask.sum())
                acc["dp"] += float(dp[period_mask].sum())
                acc["dy"] += float(dy[period_mask].sum())
                acc["dlog"] += float(dlog[period_mask].sum())
        full_time = wave.activity == FULL_TIME
        for group in (True, False):
            mask = due & (treated == group)
            naive = self.naive[(m, group)]
            naive[0] += float(mask.sum())
            naive[1] += float(full_time[mask].sum())
            for employed in (True, False):
                cell = work.invited & (treated == group) & (wave.employed == employed)
                r = self.response[(m, group, employed)]
                r[0] += float(cell.sum())
                r[1] += float(work.response_probability[cell].sum())

    def _periods(self, code: str, learners: Learners, mask: np.ndarray):
        yield "all", mask
        programme = next((p for p in self.spec.programmes if p.code == code), None)
        if programme is not None and programme.redesign is not None:
            after = learners.planned_end >= np.datetime64(programme.redesign.effective_from, "D")
            yield "before_redesign", mask & ~after
            yield "after_redesign", mask & after

    def _att_entry(self, code: str, months: int, period: str = "all") -> dict[str, Any]:
        acc = self.att.get((code, months, period), _empty())
        n = acc["n"]
        mean = (lambda key: round(acc[key] / n, 6)) if n else (lambda key: None)
        return {
            "n_treated": int(n),
            "fulltime_expected": mean("dp"),
            "fulltime_realised": mean("dy"),
            "log_salary": mean("dlog"),
        }

    def build(self) -> dict[str, Any]:
        """The answer key as a JSON-ready dict."""
        spec = self.spec
        planted = spec.planted
        by_programme: dict[str, Any] = {}
        for programme in spec.programmes:
            entry: dict[str, Any] = {
                "planted_effect": programme.effect.model_dump(),
                **{f"{m}m": self._att_entry(programme.code, m) for m in FOLLOW_UP_MONTHS},
            }
            if programme.redesign is not None:
                entry["redesign"] = {
                    "effective_from": programme.redesign.effective_from.isoformat(),
                    "planted_effect": programme.redesign.effect.model_dump(),
                    **{
                        f"{period}_6m": self._att_entry(programme.code, 6, period)
                        for period in ("before_redesign", "after_redesign")
                    },
                }
            by_programme[programme.code] = entry
        naive = {}
        for m in FOLLOW_UP_MONTHS:
            (n1, y1), (n0, y0) = self.naive[(m, True)], self.naive[(m, False)]
            att = self._att_entry("all", m)["fulltime_realised"]
            difference = (y1 / n1 - y0 / n0) if n1 and n0 else None
            naive[f"{m}m"] = {
                "holders_fulltime_rate": round(y1 / n1, 6) if n1 else None,
                "non_completers_fulltime_rate": round(y0 / n0, 6) if n0 else None,
                "difference": None if difference is None else round(difference, 6),
                "bias_vs_att": None
                if difference is None or att is None
                else round(difference - att, 6),
                "n_holders": int(n1),
                "n_non_completers": int(n0),
            }
        response = {
            f"{m}m": {
                ("holders" if group else "non_completers"): {
                    ("employed" if employed else "not_employed"): {
                        "invited": int(self.response[(m, group, employed)][0]),
                        "mean_propensity": (
                            round(
                                self.response[(m, group, employed)][1]
                                / self.response[(m, group, employed)][0],
                                6,
                            )
                            if self.response[(m, group, employed)][0]
                            else None
                        ),
                    }
                    for employed in (True, False)
                }
                for group in (True, False)
            }
            for m in FOLLOW_UP_MONTHS
        }
        return {
            "about": (
                "Planted truth of the outcomes demo institution. ATTs are sample ATTs over "
                "treated learners (credential holders) whose follow-up date had passed by "
                "'today', whether or not they answered. fulltime_expected = mean of "
                "P(full-time | treated) - P(full-time | not treated); fulltime_realised = "
                "mean of Y(1) - Y(0); log_salary = mean of log S(1) - log S(0) of the latent "
                "full-time salary."
            ),
            "seed": self.seed,
            "learners": self.learners,
            "today": spec.institution.today.isoformat(),
            "comparison_group": "enrolled but not completed (enrolment status 'withdrawn')",
            "att": {
                "overall": {f"{m}m": self._att_entry("all", m) for m in FOLLOW_UP_MONTHS},
                "by_programme": by_programme,
            },
            "naive": {
                "expected_direction": "upward",
                "why": (
                    "completion depends on prior education, baseline employment and age, "
                    "which also raise employment (selection on observables): adjusting for "
                    "these covariates removes the bias"
                ),
                "population": naive,
            },
            "selection_model": {
                "link": "logit",
                "outcome": "enrolment completed",
                "coefficients": planted.completion.model_dump(),
                "programme_shift": {p.code: p.completion_shift for p in spec.programmes},
                "age_term": "(age at enrolment - 35) / 10",
                "mean_probability_by_status": {
                    status: round(acc[1] / acc[0], 6) if acc[0] else None
                    for status, acc in self.completion.items()
                },
            },
            "outcome_model": {
                "employment": planted.employment.model_dump(),
                "salary": planted.salary.model_dump(),
                "trend_base_year": 2021,
            },
            "response_model": {
                "link": "logit",
                "coefficients": planted.response.model_dump(),
                "mean_propensity": response,
            },
            "other_sources": planted.other_sources.model_dump(),
        }


def write_answer_key(answer_key: dict[str, Any], path: Path) -> Path:
    """Write the answer key as indented JSON, readable by its owner only (0600); the path."""
    make_private_directories(path.parent)
    text = json.dumps(answer_key, indent=2, sort_keys=False, default=str) + "\n"
    replace_private_file(path, text.encode("utf-8"))
    return path
