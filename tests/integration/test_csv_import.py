"""Importing credential records from CSV: encodings, delimiters, mapping, dates, duplicates,
idempotency, atomicity and hostile cells, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outcomes.errors import ValidationProblem
from outcomes.records import csv_import, importing
from outcomes.records.csv_import import (
    CsvOptions,
    import_csv_files,
    load_mapping_file,
    open_csv,
    parse_mapping,
    rejects_path,
)
from outcomes.records.importing import Rejected, Row, import_records
from outcomes.records.model import (
    CredentialRecord,
    EnrolmentFacts,
    ExternalId,
    LearnerRef,
    Origin,
    ProgrammeRef,
)
from outcomes.store.engine import session_scope
from outcomes.store.freshness import triggers_in_place
from tests import factories
from tests.conftest import REPO_ROOT

HEADER = (
    "credential_id,programme_code,learner_external_id,email,given_name,family_name,issued_on,grade"
)
TABLES = ("learner", "learner_identity", "learner_external_id", "enrolment", "credential")
SEED_CODES = [
    "MC-DATA",
    "MC-CYBER",
    "MC-PM",
    "MC-DIGMKT",
    "MC-SUSBIZ",
    "MC-UX",
    "MC-CLOUD",
    "MC-HEALTHADM",
    "MC-TEACHONLINE",
    "MC-AUTOM",
    "MC-GDPR",
]


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t: connection.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in (*TABLES, "audit_event")
        }


def with_programmes(engine: Engine, *codes: str) -> None:
    with session_scope(engine) as session:
        for code in codes or ("DA-101",):
            factories.programme(session, code)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def award_rows(count: int, *, start: int = 0, grade: str = "7.5") -> list[str]:
    return [
        f"urn:uuid:c-{n:07d},DA-101,S{n:07d},learner{n}@example.org,Given{n},Family{n},"
        f"2024-0{1 + n % 9}-1{n % 10},{grade}"
        for n in range(start, start + count)
    ]


def run(engine: Engine, path: Path, **options: object) -> importing.ImportReport:
    skip = bool(options.pop("skip_invalid", False))
    dry = bool(options.pop("dry_run", False))
    file = open_csv(path, CsvOptions(**options))  # type: ignore[arg-type]
    return import_csv_files(engine, [file], actor="cli:test", skip_invalid=skip, dry_run=dry).report


# --- encodings and delimiters ---------------------------------------------------------------


def test_a_file_with_a_byte_order_mark_imports_with_its_first_header_intact(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    path = write(tmp_path / "bom.csv", "\ufeff" + "\n".join([HEADER, *award_rows(3)]) + "\n")
    file = open_csv(path)
    assert file.encoding.value == "utf-8-sig"
    assert "credential_id" in file.mapping.columns
    assert run(engine, path).summary.added == 3


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_separated_files_are_detected(
    engine: Engine, tmp_path: Path, delimiter: str, name: str
) -> None:
    with_programmes(engine)
    lines = [HEADER, *award_rows(4)]
    path = write(tmp_path / f"{name}.csv", "\n".join(ln.replace(",", delimiter) for ln in lines))
    assert open_csv(path).delimiter.value == delimiter
    assert run(engine, path).summary.added == 4


def test_a_given_delimiter_overrides_detection(engine: Engine, tmp_path: Path) -> None:
    with_programmes(engine)
    path = write(tmp_path / "bar.csv", "\n".join([HEADER, *award_rows(2)]).replace(",", "|"))
    assert open_csv(path, CsvOptions(delimiter="|")).delimiter.value == "|"
    assert run(engine, path, delimiter="|").summary.added == 2


@pytest.mark.parametrize(
    ("encoding", "detected", "family"),
    [("latin-1", "cp1252", "Muñoz Peña"), ("cp1252", "cp1252", "O\u2019Neill \u201cJr\u201d")],
)
def test_latin_1_and_windows_1252_files_are_read_as_their_authors_wrote_them(
    engine: Engine, tmp_path: Path, encoding: str, detected: str, family: str
) -> None:
    with_programmes(engine)
    row = f"urn:uuid:x1,DA-101,S1,s1@example.org,José,{family},2024-03-01,8"
    path = write(tmp_path / "legacy.csv", f"{HEADER}\n{row}\n", encoding)
    assert open_csv(path).encoding.value == detected
    assert run(engine, path).summary.added == 1
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT given_name, family_name FROM learner_identity")
        ).one()
    assert tuple(stored) == ("José", family)


def test_a_given_encoding_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", f"{HEADER}\n", "utf-8")
    assert open_csv(path, CsvOptions(encoding="latin-1")).encoding.value == "iso8859-1"
    with pytest.raises(ValidationProblem, match="Unknown encoding 'klingon'"):
        open_csv(path, CsvOptions(encoding="klingon"))


# --- columns and mapping --------------------------------------------------------------------


def test_a_missing_mandatory_column_is_one_sentence_naming_it(tmp_path: Path) -> None:
    path = write(
        tmp_path / "nocid.csv", "programme_code,email,issued_on\nDA-101,a@b.org,2024-01-01\n"
    )
    with pytest.raises(ValidationProblem) as raised:
        open_csv(path)
    message = str(raised.value)
    assert message.startswith("nocid.csv has no column for credential_id")
    assert message.count(".") >= 1 and "\n" not in message


def test_common_synonyms_are_recognised_on_their_own(engine: Engine, tmp_path: Path) -> None:
    with_programmes(engine)
    header = "Student ID,E-mail Address,Programme,Award Date,Certificate Number,Result,Notes"
    path = write(
        tmp_path / "registry.csv",
        f"{header}\nS9,s9@example.org,DA-101,2024-02-02,CERT-9,7,hello\n",
    )
    file = open_csv(path)
    assert {r["column"]: r["matched"] for r in file.mapping.rows()} == {
        "learner_external_id": "synonym",
        "email": "synonym",
        "programme_code": "synonym",
        "issued_on": "synonym",
        "credential_id": "synonym",
        "grade": "synonym",
    }
    assert file.mapping.ignored == ("Notes",)
    assert run(engine, path).summary.added == 1


def test_an_explicit_mapping_and_a_mapping_file_name_their_headers(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    header = "Matric,Contact,Course,Fecha,Ref"
    path = write(tmp_path / "odd.csv", f"{header}\nS1,s1@example.org,DA-101,2024-02-02,R-1\n")
    with pytest.raises(ValidationProblem, match="has no column for credential_id"):
        open_csv(path)
    mapping = parse_mapping(
        "Matric=external_learner_id,Contact=email,Course=programme_code,Fecha=issued_on,"
        "Ref=credential_id"
    )
    assert run(engine, path, mapping=mapping).summary.added == 1
    mapping_file = write(
        tmp_path / "mapping.yaml",
        "Matric: learner_external_id\nContact: email\nCourse: programme_code\n"
        "Fecha: issued_on\nRef: credential_id\n",
    )
    assert load_mapping_file(mapping_file) == mapping
    assert run(engine, path, mapping=load_mapping_file(mapping_file)).summary.unchanged == 1


def test_a_mapping_to_an_unknown_column_is_refused_by_name() -> None:
    with pytest.raises(ValidationProblem, match="'student_nr' is not a column of the import"):
        parse_mapping("Student=student_nr")


# --- dates ----------------------------------------------------------------------------------


def test_ambiguous_day_month_dates_are_refused_without_the_option_never_guessed(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    path = write(
        tmp_path / "dates.csv", f"{HEADER}\nurn:uuid:d1,DA-101,S1,a@b.org,A,B,03/04/2025,7\n"
    )
    before = counts(engine)
    report = run(engine, path)
    assert not report.written and report.summary.rejected == 1
    assert "is ambiguous" in report.problems[0].sentence()
    assert "'03/04/2025'" in report.problems[0].sentence()
    assert counts(engine)["credential"] == before["credential"]
    assert run(engine, path, dates="dmy").summary.added == 1
    with engine.connect() as connection:
        issued = connection.execute(sa.text("SELECT issued_on FROM credential")).scalar_one()
    assert str(issued) == "2025-04-03"


def test_an_impossible_date_is_refused_with_the_expected_format(tmp_path: Path) -> None:
    assert csv_import.parse_date("31/02/2023", "iso") == (
        "is not a valid date (expected YYYY-MM-DD; for day/month/year dates choose the date "
        "order dmy)"
    )
    assert csv_import.parse_date("31/02/2023", "dmy") == "is not a real date (read as DD/MM/YYYY)"
    assert csv_import.parse_date("2023-02-30", "iso") == "is not a real date"
    assert csv_import.parse_date("12/31/2023", "mdy") == dt.date(2023, 12, 31)


# --- duplicates, idempotency, updates -------------------------------------------------------


def test_an_identical_duplicate_in_a_file_is_not_a_conflict(engine: Engine, tmp_path: Path) -> None:
    with_programmes(engine)
    rows = award_rows(2)
    path = write(tmp_path / "dup.csv", "\n".join([HEADER, *rows, rows[0]]))
    report = run(engine, path)
    assert report.written
    assert (report.summary.added, report.summary.unchanged, report.summary.conflicts) == (2, 1, 0)


def test_a_credential_id_reused_in_a_file_with_other_data_is_a_conflict_and_nothing_is_imported(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    rows = award_rows(3)
    other = rows[0].replace("S0000000", "S7777777").replace(",7.5", ",9")
    path = write(tmp_path / "dup.csv", "\n".join([HEADER, *rows, other]))
    before = counts(engine)
    report = run(engine, path)
    assert not report.written and report.summary.conflicts == 1
    conflict = report.conflicts[0]
    assert conflict.id == "urn:uuid:c-0000000"
    assert [o.line for o in conflict.origins] == [2, 5]
    assert {"external_ids", "grade"} <= set(conflict.differences)
    assert counts(engine)["credential"] == before["credential"]


def test_reimporting_the_same_file_changes_nothing_and_says_so(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    path = write(tmp_path / "a.csv", "\n".join([HEADER, *award_rows(5)]))
    assert run(engine, path).summary.added == 5
    after_first = counts(engine)
    again = run(engine, path)
    assert (again.summary.added, again.summary.updated, again.summary.unchanged) == (0, 0, 5)
    assert again.sentence().startswith("Nothing changed")
    assert {k: v for k, v in counts(engine).items() if k != "audit_event"} == {
        k: v for k, v in after_first.items() if k != "audit_event"
    }


def test_a_changed_row_updates_the_credential_names_the_fields_and_is_audited(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    path = write(tmp_path / "a.csv", "\n".join([HEADER, *award_rows(3)]))
    run(engine, path)
    rows = award_rows(3)
    rows[1] = rows[1].replace(",7.5", ",9.5")
    changed = write(tmp_path / "b.csv", "\n".join([HEADER, *rows]))
    report = run(engine, changed)
    assert (report.summary.updated, report.summary.unchanged) == (1, 2)
    assert report.changes[0].credential_id == "urn:uuid:c-0000001"
    assert report.changes[0].fields == ("grade",)
    with engine.connect() as connection:
        grade = connection.execute(
            sa.text("SELECT grade FROM credential WHERE external_id = 'urn:uuid:c-0000001'")
        ).scalar_one()
        events = connection.execute(
            sa.text("SELECT action, detail FROM audit_event ORDER BY id")
        ).all()
    assert grade == "9.5"
    updates = [e for e in events if e[0] == "credential.update"]
    assert len(updates) == 1 and "grade" in str(updates[0][1])
    assert "9.5" not in str(updates[0][1])  # fields, never values
    imports = [e for e in events if e[0] == "records.import"]
    assert len(imports) == 2 and "b.csv" in str(imports[-1][1])


def test_a_credential_id_the_database_holds_for_another_learner_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    run(engine, write(tmp_path / "a.csv", "\n".join([HEADER, *award_rows(1)])))
    moved = award_rows(1)[0].replace("S0000000", "S5").replace("learner0@", "other@")
    report = run(engine, write(tmp_path / "b.csv", f"{HEADER}\n{moved}\n"))
    assert not report.written
    assert "another learner" in report.problems[0].reason


def test_learners_are_matched_by_external_id_then_e_mail_and_contact_data_stays_in_identity(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine, "DA-101", "UX-1")
    first = "urn:uuid:m1,DA-101,S1,ana@example.org,Ana,Ruiz,2024-01-01,7"
    by_id = "urn:uuid:m2,UX-1,S1,,Ana,Ruiz,2024-06-01,8"
    by_mail = "urn:uuid:m3,UX-1,,ana@example.org,Ana,Ruiz,2024-09-01,9"
    report = run(engine, write(tmp_path / "a.csv", "\n".join([HEADER, first, by_id, by_mail])))
    assert report.summary.added == 3
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM learner")).scalar_one() == 1
        identity = connection.execute(sa.text("SELECT email FROM learner_identity")).all()
        learner_columns = connection.execute(sa.text("SELECT * FROM learner")).keys()
    assert identity == [("ana@example.org",)]
    assert not {"email", "given_name", "family_name"} & set(learner_columns)


# --- skip-invalid and the seed sample -------------------------------------------------------


def test_skip_invalid_imports_the_valid_rows_and_writes_the_rejects_beside_the_file(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine, *SEED_CODES)
    sample = tmp_path / "sample-credentials.csv"
    sample.write_bytes((REPO_ROOT / "seed" / "sample-credentials.csv").read_bytes())
    refused = run(engine, sample)
    assert not refused.written and not rejects_path(sample).exists()
    result = import_csv_files(engine, [open_csv(sample)], actor="cli:test", skip_invalid=True)
    assert result.report.written
    assert result.rejects_files == (rejects_path(sample),)
    with rejects_path(sample).open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [r["line"] for r in rejected] == ["12", "20", "27"]
    assert "MC-ROBOTICS" in rejected[0]["problems"]


def test_the_seed_sample_imports_as_its_readme_documents(engine: Engine, tmp_path: Path) -> None:
    with_programmes(engine, *SEED_CODES)
    sample = REPO_ROOT / "seed" / "sample-credentials.csv"
    report = run(engine, sample, skip_invalid=False, dry_run=True)
    by_line = {p.origin.line: p for p in report.problems}
    assert sorted(by_line) == [12, 20, 27]
    assert by_line[12].field == "programme_code" and "MC-ROBOTICS" in by_line[12].sentence()
    assert "known codes: MC-AUTOM" in by_line[12].reason
    assert by_line[20].field == "completion_date"
    assert "expected YYYY-MM-DD" in by_line[20].reason
    assert "line 5" in by_line[27].reason
    assert [w.origin.line for w in report.warnings] == [33]
    assert report.summary.added == 37 and report.summary.conflicts == 1


# --- hostile cells --------------------------------------------------------------------------


def test_hostile_cells_are_stored_as_text_or_refused_with_a_reason(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER.split(","))
    writer.writerow(
        [
            "urn:uuid:h1",
            "DA-101",
            "S1",
            "h1@example.org",
            '=HYPERLINK("x")',
            "<script>alert(1)</script>",
            "2024-01-01",
            "+7",
        ]
    )
    writer.writerow(
        ["urn:uuid:h2", "DA-101", "S2", "h2@example.org", "A\x00B", "C", "2024-01-01", "7"]
    )
    writer.writerow(
        ["urn:uuid:h3", "DA-101", "S3", "h3@example.org", "x" * 100_000, "C", "2024-01-01", "7"]
    )
    path = write(tmp_path / "hostile.csv", buffer.getvalue())
    result = import_csv_files(engine, [open_csv(path)], actor="cli:test", skip_invalid=True)
    reasons = {p.origin.line: p.reason for p in result.report.problems}
    assert reasons == {
        3: "contains a NUL character, which no record needs",
        4: "is longer than 200 characters",
    }
    assert all(len(p.sentence()) < 300 for p in result.report.problems)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT given_name, family_name FROM learner_identity")
        ).one()
        grade = connection.execute(sa.text("SELECT grade FROM credential")).scalar_one()
    assert tuple(stored) == ('=HYPERLINK("x")', "<script>alert(1)</script>")
    assert grade == "+7"
    text = rejects_path(path).read_text(encoding="utf-8")
    assert "\x00" not in text  # the rejects file is neutralised like every export


# --- atomicity ------------------------------------------------------------------------------


@pytest.mark.parametrize("bulk", [False, True], ids=["triggers", "bulk"])
def test_a_failure_halfway_leaves_the_database_as_it_was(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    with_programmes(engine)
    run(engine, write(tmp_path / "first.csv", "\n".join([HEADER, *award_rows(5)])))
    before = counts(engine)
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 10)
    original = importing._Writer.write_chunk
    calls = []

    def failing(
        self: importing._Writer, number: int, chunk: list[importing.Item]
    ) -> list[Rejected]:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("injected failure")
        return original(self, number, chunk)

    monkeypatch.setattr(importing._Writer, "write_chunk", failing)
    path = write(tmp_path / "big.csv", "\n".join([HEADER, *award_rows(60, start=100)]))
    with pytest.raises(RuntimeError, match="injected"):
        import_records(engine, [open_csv(path)], actor="cli:test", bulk=bulk)
    assert len(calls) == 3
    assert counts(engine) == before
    assert triggers_in_place(engine)


# --- the fast path agrees with the full checks and the model ------------------------------


def _random_cells(rng: random.Random) -> list[str]:
    pick = rng.choice
    return [
        pick(["urn:uuid:r1", "", " id-2 ", "x" * 501]),
        pick(["DA-101", "", "Y" * 41]),
        pick(["S1", "", "S\x002"]),
        pick(["a@b.org", "", "not-an-email", "A@B.ORG"]),
        pick(["Ana", "", "N" * 201]),
        pick(["Ruiz", ""]),
        pick(["", "es", "EN", "fr"]),
        pick(["", "2024-01-01", "2024-13-01", "01/02/2024"]),
        pick(["", "2024-06-30", "2023-01-01", "31/12/2024"]),
        pick(["", "2024-07-01", "2024-02-30"]),
        pick(["", "7", "G" * 61]),
    ]


def test_the_fast_path_accepts_exactly_what_the_full_checks_accept(tmp_path: Path) -> None:
    header = (
        "credential_id,programme_code,learner_external_id,email,given_name,family_name,"
        "preferred_language,enrolment_start,completion_date,issued_on,grade"
    )
    file = open_csv(write(tmp_path / "h.csv", header + "\n"))
    reader = csv_import._RowReader(file)
    assert reader.fast_ok
    rng = random.Random(7)
    accepted = fast_accepted = 0
    for line in range(2, 3000):
        cells = _random_cells(rng)
        fast = reader._fast(cells, line)
        full = reader.checked(cells, line)
        if fast is not None:
            fast_accepted += 1
            assert fast == full
        if isinstance(full, Row):
            accepted += 1
            _as_model(full)  # the model accepts what the reader accepts
        else:
            assert fast is None
    assert accepted >= fast_accepted > 3


def _as_model(row: Row) -> CredentialRecord:
    return CredentialRecord(
        origin=Origin(file=row.file, line=row.line),
        credential_id=row.credential_id,
        programme=ProgrammeRef(code=row.programme_code, achievement_id=row.achievement_id),
        learner=LearnerRef(
            external_ids=tuple(ExternalId(scheme=s, value=v) for s, v in row.external_ids),
            email=row.email,
            given_name=row.given_name,
            family_name=row.family_name,
            preferred_language=row.preferred_language,  # type: ignore[arg-type]
        ),
        enrolment=EnrolmentFacts(
            started_on=row.started_on,
            ended_on=row.ended_on,
            status=row.enrolment_status,  # type: ignore[arg-type]
        ),
        issued_on=row.issued_on,
        grade=row.grade,
        status=row.status,  # type: ignore[arg-type]
        revoked_on=row.revoked_on,
        expires_on=row.expires_on,
    )


def test_records_from_the_model_import_through_the_same_core(engine: Engine) -> None:
    with_programmes(engine)
    record = CredentialRecord(
        origin=Origin(file="badges.json", pointer="$[0]"),
        credential_id="urn:uuid:ob-1",
        programme=ProgrammeRef(code="DA-101"),
        learner=LearnerRef(
            external_ids=(ExternalId(scheme="email", value="z@example.org"),), email="Z@example.org"
        ),
        issued_on=dt.date(2024, 5, 5),
        source="open_badges",
    )
    report = import_records(engine, [importing.RecordList("badges.json", [record])], actor="t")
    assert report.summary.added == 1
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT source FROM credential")).scalar_one() == (
            "open_badges"
        )


# --- size -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_100000_row_file_imports_in_one_transaction(engine: Engine, tmp_path: Path) -> None:
    with_programmes(engine)
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + "\n")
        for start in range(0, 100_000, 10_000):
            handle.write("\n".join(award_rows(10_000, start=start)) + "\n")
    report = run(engine, path)
    assert report.written and report.summary.added == 100_000
    assert counts(engine)["credential"] == 100_000
    assert triggers_in_place(engine)
    again = run(engine, path, dry_run=True)
    assert again.summary.unchanged == 100_000
    assert triggers_in_place(engine)


def test_a_refused_or_dry_bulk_import_leaves_the_triggers_and_rows_as_they_were(
    engine: Engine, tmp_path: Path
) -> None:
    with_programmes(engine)
    bad = "urn:uuid:bad,NOPE,S1,a@b.org,A,B,2024-01-01,7"
    path = write(tmp_path / "a.csv", "\n".join([HEADER, *award_rows(20), bad]))
    before = counts(engine)
    for dry_run in (False, True):
        report = import_records(engine, [open_csv(path)], actor="t", bulk=True, dry_run=dry_run)
        assert not report.written and report.summary.added == 20
        assert triggers_in_place(engine)
        assert {k: v for k, v in counts(engine).items() if k != "audit_event"} == {
            k: v for k, v in before.items() if k != "audit_event"
        }
