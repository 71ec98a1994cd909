"""The demo institution file, its strict loading, and the pure helpers of the generator."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac

import numpy as np
import pytest
import yaml

from outcomes.access.passwords import password_problem
from outcomes.demo.fieldwork import add_months, plan_waves
from outcomes.demo.people import ascii_slug, make_name_pools
from outcomes.demo.spec import DEFAULT_SPEC_PATH, DemoSpecError, load_institution, parse_institution
from outcomes.demo.staff_accounts import demo_passwords, demo_staff_emails
from outcomes.keys import Purpose, labelled_hmac


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_SPEC_PATH.read_text("utf-8"))


def test_shipped_institution_loads_with_programmes_and_cohorts() -> None:
    spec = load_institution()
    assert spec.institution.country in ("ES", "IE")
    assert spec.institution.currency == "EUR"
    assert 10 <= len(spec.programmes) <= 12
    assert spec.award_years == [2021, 2022, 2023, 2024, 2025, 2026]
    assert any(p.launched_on.year >= 2023 for p in spec.programmes)
    assert sum(p.redesign is not None for p in spec.programmes) == 1
    assert all(p.title_es for p in spec.programmes)


def test_unknown_key_is_an_error_naming_the_programme_and_key(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["programmes"][2]["colour"] = "blue"
    with pytest.raises(DemoSpecError, match=r"programmes\[MC-PM\]\.colour"):
        parse_institution(data)


def test_bad_value_names_the_field_and_the_value(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["programmes"][0]["participation_form"] = "by post"
    with pytest.raises(DemoSpecError, match="participation_form"):
        parse_institution(data)
    data = copy.deepcopy(raw)
    data["institution"]["country"] = "FR"
    with pytest.raises(DemoSpecError, match=r"institution\.country.*'FR'"):
        parse_institution(data)


def test_shares_must_add_up_to_one(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["population"]["gender"]["female"] = 0.9
    with pytest.raises(DemoSpecError, match="add up to 1"):
        parse_institution(data)


def test_duplicate_programme_codes_are_refused(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["programmes"][1]["code"] = data["programmes"][0]["code"]
    with pytest.raises(DemoSpecError, match="unique"):
        parse_institution(data)


def test_missing_file_is_one_sentence(tmp_path) -> None:
    with pytest.raises(DemoSpecError, match="does not exist"):
        load_institution(tmp_path / "nope.yaml")


def test_demo_passwords_are_deterministic_per_key_and_pass_the_rules() -> None:
    first = demo_passwords("a" * 40)
    assert first == demo_passwords("a" * 40)
    assert first != demo_passwords("b" * 40)
    assert set(first) == {"admin", "manager", "reviewer"}
    assert len(set(first.values())) == 3
    assert all(password_problem(p) is None for p in first.values())


def _encodings(digest: bytes) -> set[str]:
    """Every text a reader could make of ``digest``, in the demo passwords' format too."""
    texts = {digest.hex(), digest.hex().upper(), base64.b64encode(digest).decode()}
    for length in (15, len(digest)):
        letters = base64.b32encode(digest[:length]).decode("ascii")
        lower = letters.lower()
        texts |= {letters, lower, "-".join(lower[i : i + 6] for i in range(0, 24, 6))}
    return texts


def test_no_audit_digest_of_any_demo_label_is_a_demo_password() -> None:
    key = "k" * 40
    passwords = set(demo_passwords(key).values())
    emails = demo_staff_emails("demo.outcomes.example")
    typed = {
        text
        for role in emails
        for text in (role, emails[role], f"outcomes-demo-staff:{role}", f"demo-password:{role}")
    }
    digests = set()
    for value in typed:
        digests.add(labelled_hmac(key, Purpose.AUDIT_HASH, value))  # an audit row's digest
        digests.add(hmac.new(key.encode(), value.encode(), hashlib.sha256).digest())  # raw key
        digests.add(
            # the label without the subkey
            hmac.new(key.encode(), f"demo-password\x00{value}".encode(), hashlib.sha256).digest()
        )
    derivable = set().union(*(_encodings(d) for d in digests))
    assert passwords.isdisjoint(derivable)
    # The check can fail: the password is exactly such an encoding of its own purpose's digest.
    own = labelled_hmac(key, Purpose.DEMO_PASSWORD, "admin")
    assert demo_passwords(key)["admin"] in _encodings(own)


def test_add_months_clips_to_the_end_of_the_month_and_keeps_nat() -> None:
    days = np.array(["2023-01-31", "2024-08-15", "NaT"], dtype="datetime64[D]")
    shifted = add_months(days, 1)
    assert shifted[0] == np.datetime64("2023-02-28")
    assert shifted[1] == np.datetime64("2024-09-15")
    assert np.isnat(shifted[2])


def test_waves_never_open_after_today_and_past_ones_are_closed() -> None:
    spec = load_institution()
    plans = plan_waves(spec)
    today = spec.institution.today
    assert plans and all(p.opens_on <= today for p in plans)
    assert all((p.status == "closed") == (p.closes_on < today) for p in plans)
    names = {p.name for p in plans}
    assert "2023 cohort — 6 months" in names
    assert "2024 cohort — 36 months" not in names  # opens in 2027
    assert any(p.status == "open" for p in plans)


def test_name_pools_are_deterministic_and_slugs_are_ascii() -> None:
    a, b = make_name_pools(5, size=50), make_name_pools(5, size=50)
    assert a.given[1].tolist() == b.given[1].tolist()
    assert make_name_pools(6, size=50).given[0].tolist() != a.given[0].tolist()
    assert ascii_slug("María José O'Brien") == "mariajoseobrien"
    assert dt.date(2026, 11, 1) == load_institution().institution.today
