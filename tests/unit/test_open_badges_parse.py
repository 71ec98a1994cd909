"""Open Badges 3.0: reading, schema validation, mapping and conflicts (no database)."""

from __future__ import annotations

import datetime as dt
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest

from outcomes.errors import ValidationProblem
from outcomes.records import badge_files
from outcomes.records.badge_mapping import SUBJECT_SCHEME
from outcomes.records.badge_schema import schema_problems
from outcomes.records.open_badges import SIGNATURES_NOT_VERIFIED, read_badges
from tests.badge_corpus import as_jwt, corpus_credential, corpus_files, credentials_dir

TODAY = dt.date(2026, 12, 4)
CORPUS = corpus_files()


def _write(path: Path, value: Any) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), "utf-8")
    return path


def test_the_corpus_is_found_beside_the_repository() -> None:
    assert len(list(credentials_dir().glob("*.json"))) == 32


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_every_corpus_file_validates_and_maps_to_one_record(path: Path) -> None:
    batch = read_badges([path], today=TODAY)
    assert batch.problems == () and batch.conflicts == () and batch.achievement_conflicts == ()
    [record] = batch.records
    credential = json.loads(path.read_text("utf-8"))
    assert record.credential_id == credential["id"]
    assert record.source == "open_badges"
    assert record.programme.achievement_id == credential["credentialSubject"]["achievement"]["id"]
    assert record.issued_on == dt.date.fromisoformat(credential["validFrom"][:10])
    assert record.learner.external_ids[0].scheme == SUBJECT_SCHEME


def test_the_eu_elements_are_read_from_an_edubadges_microcredential() -> None:
    [record] = read_badges(
        [credentials_dir() / "uvh_at_microcredential_full_1.json"], today=TODAY
    ).records
    assert record.programme.code == "20121350"
    assert record.grade == "8.5"
    assert record.expires_on == dt.date(2029, 8, 30)
    assert record.learner.external_ids[0].value == "https://example.com/students/stu-7Z6X5W"
    # field of study is not in the credential: a stand-in, named in the report
    batch = read_badges([credentials_dir() / "uvh_at_microcredential_full_1.json"], today=TODAY)
    assert list(batch.missing_elements.values()) == [("field_of_study",)]
    assert record.programme_elements is not None
    assert record.programme_elements.field_of_study == "not stated in the credential"
    assert record.programme_elements.ects == 3.0


def test_an_achievement_stating_nothing_gets_stand_ins_named_in_the_report() -> None:
    batch = read_badges([credentials_dir() / "ref_minimal_valid_obv3.json"], today=TODAY)
    [record] = batch.records
    elements = record.programme_elements
    assert elements is not None
    assert (elements.ects, elements.issuer_country, elements.participation_form) == (
        0.0,
        "ZZ",
        "blended",
    )
    assert elements.title == "Lorem ipsum" and elements.awarding_body == "SURF - Team edubadges"
    assert set(next(iter(batch.missing_elements.values()))) == {
        "issuer_country",
        "ects",
        "assessment_type",
        "participation_form",
        "quality_assurance",
        "field_of_study",
    }


def test_complete_elements_come_with_credits_eqf_participation_and_quality_assurance(
    tmp_path: Path,
) -> None:
    credential = corpus_credential("uvh_at_microcredential_full_1.json")
    credential["credentialSubject"]["achievement"]["fieldOfStudy"] = "Transmutation"
    [record] = read_badges([_write(tmp_path / "c.json", credential)], today=TODAY).records
    elements = record.programme_elements
    assert elements is not None
    assert (elements.ects, elements.eqf_level, elements.participation_form) == (3.0, 4, "blended")
    assert elements.assessment_type == "testing"
    assert elements.quality_assurance.endswith("AV-7381")
    assert elements.issuer_country == "NL"
    assert elements.awarding_body == "Universiteit van Harderwijk"
    assert elements.learning_outcomes.startswith("De student heeft met succes")


def test_credits_come_from_credits_available_or_from_study_hours() -> None:
    batch = read_badges(
        [
            credentials_dir() / "ref_full_ex.json",
            credentials_dir() / "mbob_zw_ssb_regular_full.json",
        ],
        today=TODAY,
    )
    assert any("credits 71.43 ECTS from SBU 2000 hours" in note for note in batch.notes)
    assert all("ref_full_ex" not in note or "SBU" not in note for note in batch.notes)


def test_identifier_entries_give_the_email_and_hashed_ones_stay_identifiers(tmp_path: Path) -> None:
    credential = corpus_credential("ref_minimal_valid_obv3.json")
    subject = credential["credentialSubject"]
    del subject["id"]
    subject["identifier"] = [
        {
            "type": "IdentityObject",
            "identityHash": "Ana@Example.org",
            "identityType": "emailAddress",
            "hashed": False,
        },
        {
            "type": "IdentityObject",
            "identityHash": "S-1234",
            "identityType": "ext:studentId",
            "hashed": False,
        },
        {
            "type": "IdentityObject",
            "identityHash": "Ana Example",
            "identityType": "name",
            "hashed": False,
        },
        {
            "type": "IdentityObject",
            "identityHash": "sha256$abc",
            "identityType": "emailAddress",
            "hashed": True,
            "salt": "s1",
        },
    ]
    batch = read_badges([_write(tmp_path / "c.json", credential)], today=TODAY)
    [record] = batch.records
    assert record.learner.email == "ana@example.org"
    schemes = {(i.scheme, i.value) for i in record.learner.external_ids}
    assert schemes == {
        ("student_id", "S-1234"),
        ("open_badges_hashed_emailAddress", "sha256$abc$s1"),
    }
    assert any("hashed" in note for note in batch.notes)
    assert any("(name) is not used to identify the learner" in note for note in batch.notes)


def test_a_credential_naming_no_learner_is_rejected(tmp_path: Path) -> None:
    credential = corpus_credential("ref_minimal_valid_obv3.json")
    del credential["credentialSubject"]["id"]
    batch = read_badges([_write(tmp_path / "nobody.json", credential)], today=TODAY)
    assert batch.records == ()
    [problem] = batch.problems
    assert problem.sentence().startswith("nobody.json: $.credentialSubject: names no learner")


def test_a_schema_invalid_credential_is_rejected_with_the_schema_path(tmp_path: Path) -> None:
    credential = corpus_credential("theed_microcredential_full_ho.json")
    del credential["credentialSubject"]["achievement"]["criteria"]
    credential["validFrom"] = 20240830
    batch = read_badges([_write(tmp_path / "bad.json", credential)], today=TODAY)
    assert batch.records == ()
    lines = [p.sentence() for p in batch.problems]
    assert lines == [
        "bad.json: $.credentialSubject.achievement.criteria: does not meet the Open Badges 3.0 "
        "schema: is required but missing.",
        "bad.json: $.validFrom: does not meet the Open Badges 3.0 schema: 20240830 is not of "
        "type 'string'.",
    ]


def test_a_credential_of_another_type_names_the_type_path() -> None:
    credential = corpus_credential("ref_minimal_valid_obv3.json")
    credential["type"] = ["VerifiableCredential", "EndorsementCredential"]
    [problem] = schema_problems(credential)
    assert problem.path == "$.type" and "OpenBadgeCredential" in problem.message


def test_an_achievement_credential_is_read_like_an_open_badge_credential(tmp_path: Path) -> None:
    credential = corpus_credential("ref_minimal_valid_obv3.json")
    credential["type"] = ["VerifiableCredential", "AchievementCredential"]
    assert len(read_badges([_write(tmp_path / "a.json", credential)], today=TODAY).records) == 1


def test_a_jwt_encoded_credential_is_decoded_and_its_signature_not_verified(tmp_path: Path) -> None:
    credential = corpus_credential("uvh_fvhz_regular_full.json")
    _write(tmp_path / "badge.jwt", as_jwt(credential) + "\n")
    _write(
        tmp_path / "wrapped.json", json.dumps(as_jwt(credential | {"id": "urn:x:2"}, wrap_vc=True))
    )
    batch = read_badges([tmp_path / "badge.jwt", tmp_path / "wrapped.json"], today=TODAY)
    assert batch.problems == ()
    assert [r.credential_id for r in batch.records] == [credential["id"], "urn:x:2"]
    assert batch.from_jwt == 2
    assert batch.report_lines()[-1] == SIGNATURES_NOT_VERIFIED
    assert "not verified" in SIGNATURES_NOT_VERIFIED


def test_a_broken_jwt_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    _write(tmp_path / "broken.jwt", "eyJhbGciOiJub25lIn0.bm90IGpzb24.sig")
    [problem] = read_badges([tmp_path / "broken.jwt"], today=TODAY).problems
    assert "payload is not base64url-encoded JSON" in problem.reason


def test_an_array_names_each_item_by_its_index(tmp_path: Path) -> None:
    good = corpus_credential("ref_minimal_valid_obv3.json")
    bad = corpus_credential("ref_minimal_valid_obv3.json") | {"id": "urn:x:bad"}
    del bad["issuer"]
    batch = read_badges([_write(tmp_path / "many.json", [good, 7, bad])], today=TODAY)
    assert len(batch.records) == 1
    assert [str(p.origin) + " " + str(p.field) for p in batch.problems] == [
        "many.json at $[1] None",
        "many.json at $[2] $[2].issuer",
    ]


def test_a_folder_and_a_zip_are_read_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "badges"
    (folder / "sub").mkdir(parents=True)
    names = ["uvh_at_microcredential_full_2.json", "ref_full_ex.json"]
    for index, name in enumerate(names):
        credential = corpus_credential(name) | {"id": f"urn:x:{index}"}
        _write(folder / ("sub" if index else ".") / name, credential)
    _write(folder / "notes.txt", "ignored")
    archive = tmp_path / "badges.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in names:
            zf.write(credentials_dir() / name, f"export/{name}")
    from_folder = read_badges([folder], today=TODAY)
    from_zip = read_badges([archive], today=TODAY)
    assert [str(r.origin) for r in from_folder.records] == [
        "badges/sub/ref_full_ex.json",
        "badges/uvh_at_microcredential_full_2.json",
    ]
    assert [str(r.origin) for r in from_zip.records] == [
        "badges.zip!export/ref_full_ex.json",
        "badges.zip!export/uvh_at_microcredential_full_2.json",
    ]


@pytest.mark.parametrize(
    "member",
    ["../../evil.json", "/etc/evil.json", "a/../../evil.json", "C:/evil.json", "a\\..\\evil.json"],
)
def test_zip_slip_is_refused_and_nothing_is_read(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "slip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.json", json.dumps(corpus_credential("ref_minimal_valid_obv3.json")))
        zf.writestr(member, "{}")
    with pytest.raises(ValidationProblem, match="leaves the archive"):
        read_badges([archive], today=TODAY)


def test_a_symbolic_link_in_a_zip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ValidationProblem, match="symbolic link"):
        read_badges([archive], today=TODAY)


def test_a_zip_bomb_is_refused_by_its_declared_size(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.json", b" " * (badge_files.MAX_FILE_BYTES + 1))
    with pytest.raises(ValidationProblem, match="beyond the limits"):
        read_badges([archive], today=TODAY)


def test_too_many_entries_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(badge_files, "MAX_ARCHIVE_ENTRIES", 3)
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for index in range(4):
            zf.writestr(f"{index}.json", "{}")
    with pytest.raises(ValidationProblem, match="4 entries, more than 3"):
        read_badges([archive], today=TODAY)


def test_the_corpus_together_reports_every_reused_id_with_files_and_differences() -> None:
    batch = read_badges([credentials_dir()], today=TODAY)
    assert batch.read == 32 and batch.problems == ()
    by_id = {c.id.rsplit("/", 1)[-1]: c for c in batch.conflicts}
    assert {k: len(c.origins) for k, c in by_id.items()} == {
        "crd-A1B2C3": 20,
        "crd-MBN3PQ": 4,
        "crd-D4E5F6": 6,
    }
    sentence = by_id["crd-MBN3PQ"].sentence()
    assert "credentials/mbob_ht_pf_regular_full.json" in sentence
    assert "achievement name (4 different values)" in sentence
    d4 = by_id["crd-D4E5F6"]
    assert any(
        d.startswith("issuer name ('Naboo Theed University' / 'Universiteit van Harderwijk')")
        for d in d4.differences
    )
    # an achievement id reused for differently named achievements by different issuers
    achievements = {c.id.rsplit("/", 1)[-1]: c for c in batch.achievement_conflicts}
    assert "ach-44ABA" in achievements
    assert any(d.startswith("issuer name") for d in achievements["ach-44ABA"].differences)
    # nothing in a conflict is imported: only the two reference examples remain, one learner
    assert sorted(r.origin.file for r in batch.records) == [
        "credentials/ref_full_ex.json",
        "credentials/ref_minimal_valid_obv3.json",
    ]
    learners = {r.learner.external_ids[0] for r in batch.records}
    assert len(learners) == 1


def test_the_same_credential_twice_is_read_once_not_a_conflict(tmp_path: Path) -> None:
    source = credentials_dir() / "ref_full_ex.json"
    batch = read_badges([source, source], today=TODAY)
    assert (len(batch.records), batch.duplicates, batch.conflicts) == (1, 1, ())


def test_an_expired_or_revocable_credential_is_noted(tmp_path: Path) -> None:
    credential = corpus_credential("ref_full_ex.json")
    credential["validUntil"] = "2020-01-01T00:00:00Z"
    batch = read_badges([_write(tmp_path / "old.json", credential)], today=TODAY)
    [record] = batch.records
    assert record.expires_on == dt.date(2020, 1, 1) and record.status == "active"
    assert any("expired on 2020-01-01" in n for n in batch.notes)
    assert any(
        "revocation is published at https://1edtech.edu/credentials/3732/revocations" in n
        for n in batch.notes
    )


def test_a_file_that_is_not_json_is_one_problem(tmp_path: Path) -> None:
    [problem] = read_badges([_write(tmp_path / "x.json", "<html>")], today=TODAY).problems
    assert problem.sentence().startswith("x.json: the file is neither JSON nor a compact JWT")


def test_the_shipped_schemas_are_the_corpus_schemas() -> None:
    from outcomes.records.badge_schema import schema_document
    from tests.badge_corpus import shared_corpus_root

    original = shared_corpus_root()
    if original is None:
        pytest.skip("the shared corpus ../shared/fixtures/open-badges is not on this machine")
    paths = sorted((original / "schemas").glob("*.json"))
    assert paths, "the shared corpus holds no schemas"
    for path in paths:
        assert schema_document(path.name) == json.loads(path.read_text("utf-8")), path.name


def test_progress_counts_the_credentials_read(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for index in range(250):
            credential = corpus_credential("ref_minimal_valid_obv3.json") | {"id": f"urn:x:{index}"}
            zf.writestr(f"{index:03d}.json", json.dumps(credential))
    assert badge_files.estimated_files([archive, tmp_path]) == 500
    seen: list[int] = []
    batch = read_badges([archive], today=TODAY, progress=seen.append)
    assert len(batch.records) == 250 and seen == [100, 200]


def test_an_enrolment_ending_before_it_starts_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    credential = corpus_credential("ref_full_ex.json")
    credential["credentialSubject"]["activityStartDate"] = "2011-01-01T00:00:00Z"
    credential["credentialSubject"]["activityEndDate"] = "2010-06-01T00:00:00Z"
    [problem] = read_badges([_write(tmp_path / "dates.json", credential)], today=TODAY).problems
    assert problem.reason == "the enrolment ends before it starts"


def test_the_repository_copy_of_the_corpus_equals_the_shared_original() -> None:
    from tests.badge_corpus import COPY, shared_corpus_root

    original = shared_corpus_root()
    if original is None:
        pytest.skip("the shared corpus ../shared/fixtures/open-badges is not on this machine")
    names = sorted(p.name for p in (original / "credentials").glob("*.json"))
    assert names == sorted(p.name for p in (COPY / "credentials").glob("*.json"))
    for name in names:
        assert (COPY / "credentials" / name).read_bytes() == (
            original / "credentials" / name
        ).read_bytes(), name
