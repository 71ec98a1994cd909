"""`outcomes analyze compare --csv` runs the impact engine on any file and explains bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from outcomes.cli.analyze import app
from outcomes.errors import ValidationProblem

runner = CliRunner()


@pytest.fixture
def planted_csv(tmp_path: Path) -> Path:
    """Selection on x1 and education; a true log-odds effect of 0.6 on employment."""
    rng = np.random.default_rng(7)
    n = 4000
    x1 = rng.normal(size=n)
    edu = rng.choice(["secondary", "bachelor", "master"], n)
    propensity = 1 / (1 + np.exp(-(0.9 * x1 + (edu == "master") * 0.8 - 0.3)))
    holder = rng.random(n) < propensity
    employed = rng.random(n) < 1 / (1 + np.exp(-(0.7 * x1 + 0.6 * holder - 0.2)))
    path = tmp_path / "cohort.csv"
    pd.DataFrame(
        {"employed": employed.astype(int), "holder": holder.astype(int), "x1": x1, "edu": edu}
    ).to_csv(path, index=False)
    return path


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


def test_the_naive_difference_overstates_what_adjustment_finds(planted_csv: Path) -> None:
    def estimate(method: str) -> float:
        out = compare(planted_csv, "--method", method, "--json")
        return float(json.loads(out.output)["estimate"])

    assert estimate("naive") > estimate("aipw") + 0.05


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
