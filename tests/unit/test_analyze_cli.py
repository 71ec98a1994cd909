"""`outcomes analyze compare --csv` runs the impact engine on any file and explains bad input."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from outcomes.cli.analyze import app
from outcomes.errors import ValidationProblem

runner = CliRunner()


@dataclass(frozen=True)
class Planted:
    path: Path
    att: float  # sample ATT: mean over holders of Y(1) - Y(0), from both simulated outcomes


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """Selection on x1 and education; a true log-odds effect of 0.6 on employment.

    The propensity is logit-linear in x1 and education (the model the estimator fits), the
    outcome is not: its log-odds are quadratic in x1, so an outcome regression on x1 and
    education alone is wrong and only the doubly robust estimator can recover the effect.
    Both potential outcomes are drawn from one uniform, so the sample ATT is known exactly.
    """
    rng = np.random.default_rng(8)
    n = 8000
    x1 = rng.normal(size=n)
    edu = rng.choice(["secondary", "bachelor", "master"], n)
    propensity = 1 / (1 + np.exp(-(0.9 * x1 + (edu == "master") * 0.8 - 0.3)))
    holder = rng.random(n) < propensity
    log_odds = 0.7 * x1 + x1**2 - 1.2
    u = rng.random(n)
    employed_without = u < 1 / (1 + np.exp(-log_odds))
    employed_with = u < 1 / (1 + np.exp(-(log_odds + 0.6)))
    employed = np.where(holder, employed_with, employed_without)
    path = tmp_path_factory.mktemp("planted") / "cohort.csv"
    pd.DataFrame(
        {"employed": employed.astype(int), "holder": holder.astype(int), "x1": x1, "edu": edu}
    ).to_csv(path, index=False)
    att = (employed_with.astype(int) - employed_without.astype(int))[holder].mean()
    return Planted(path, float(att))


@pytest.fixture
def planted_csv(planted: Planted) -> Path:
    return planted.path


def compare(path: Path, *options: str):  # type: ignore[no-untyped-def]
    """Run `outcomes analyze compare` on the planted file with its usual columns."""
    arguments = ["--csv", str(path), "--outcome", "employed", "--treatment", "holder"]
    return runner.invoke(app, ["compare", *arguments, "--covariates", "x1,edu", *options])


def test_the_json_output_carries_every_field_an_analyst_needs(planted_csv: Path) -> None:
    result = compare(planted_csv, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    for key in (
        "method",
        "estimand",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "n_treated",
        "n_control",
        "balance",
        "overlap",
    ):
        assert key in body
    assert (body["method"], body["estimand"]) == ("aipw", "att"), "the default is named"
    assert set(body["balance"]) == {"x1", "edu=master", "edu=secondary"}
    for row in body["balance"].values():
        assert abs(row["smd_after"]) < abs(row["smd_before"]) or abs(row["smd_before"]) < 0.05
    assert body["ci_low"] < body["estimate"] < body["ci_high"]


def estimate(planted: Planted, method: str) -> dict[str, float]:
    out = compare(planted.path, "--method", method, "--json")
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


@pytest.mark.parametrize("method", ["aipw", "ipw"])
def test_the_adjusted_estimate_lands_on_the_planted_effect(planted: Planted, method: str) -> None:
    # The planted log-odds 0.6 is, on this design, a risk difference among holders of
    # planted.att (about 0.12). Bound: |estimate - truth| <= 3 SE (a 0.3 % miss for a
    # correct estimator), with an SE no wider than the naive difference's (so that the
    # bound cannot be met by a vague answer).
    body = estimate(planted, method)
    naive = estimate(planted, "naive")
    assert abs(body["estimate"] - planted.att) <= 3 * body["std_error"], (planted.att, body)
    assert body["std_error"] <= 1.5 * naive["std_error"]
    assert body["ci_low"] <= planted.att <= body["ci_high"]


def test_the_naive_difference_and_a_wrong_outcome_model_both_overstate_the_effect(
    planted: Planted,
) -> None:
    # What makes the test above tell estimators apart: selection inflates the naive
    # difference, and regression on the misspecified outcome model misses too (> 3 SE).
    for method in ("naive", "regression"):
        body = estimate(planted, method)
        assert body["estimate"] - planted.att > 3 * body["std_error"], (method, body)


def test_the_text_output_names_the_method_and_estimand(planted_csv: Path) -> None:
    result = compare(planted_csv, "--estimand", "ate", "--method", "ipw")
    assert result.exit_code == 0
    assert result.output.startswith("Method: ipw — estimand: ATE")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--outcome", "nope", "--covariates", "x1"], "has no column 'nope'"),
        (["--outcome", "employed", "--covariates", "x1", "--method", "magic"], "Unknown method"),
        (["--outcome", "employed"], "--covariates is required"),
    ],
)
def test_bad_requests_are_refused_in_one_sentence(
    planted_csv: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(
        app, ["compare", "--csv", str(planted_csv), "--treatment", "holder", *args]
    )
    assert isinstance(result.exception, ValidationProblem)
    assert message in str(result.exception)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    result = runner.invoke(
        app, ["compare", "--csv", str(missing), "--outcome", "y", "--covariates", "x"]
    )
    assert isinstance(result.exception, ValidationProblem)
    assert "does not exist" in str(result.exception)
