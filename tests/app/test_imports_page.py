"""The Import records page: upload, how the file is read, the report, one import per click."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access.staff import set_programme_scope
from outcomes.store.engine import session_scope
from tests import factories
from tests.badge_corpus import as_jwt, corpus_credential, credentials_dir
from tests.conftest import REPO_ROOT
from tests.integration.test_csv_import import HEADER, SEED_CODES, award_rows

PAGE = str(REPO_ROOT / "pages" / "imports.py")
SAMPLE = REPO_ROOT / "seed" / "sample-credentials.csv"


@pytest.fixture
def people(app_engine: Engine) -> dict[str, int]:
    with session_scope(app_engine) as session:
        for code in [*SEED_CODES, "DA-101"]:
            factories.programme(session, code)
        admin = factories.staff_user(session, "admin@example.org")
        factories.second_factor(session, admin)
        manager = factories.staff_user(session, "pm@example.org", role="manager")
        set_programme_scope(session, user_id=manager, programme_codes=["DA-101"], actor="t")
    return {"admin": admin, "manager": manager}


def _open(engine: Engine, user_id: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    with session_scope(engine) as session:
        at.session_state["staff"] = factories.signed_in(session, user_id)
    return at.run()


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "text/csv"))
    return at.run()


def _credentials(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT COUNT(*) FROM credential")).scalar_one())


def _imports_audited(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT COUNT(*) FROM audit_event WHERE action = 'records.import'")
            ).scalar_one()
        )


def test_the_page_shows_how_the_file_is_read_and_the_report_before_anything_is_written(
    app_engine: Engine, people: dict[str, int]
) -> None:
    at = _open(app_engine, people["admin"])
    assert not at.exception, at.exception
    assert at.title[0].value == "Import records"
    at = _upload(at, "sample-credentials.csv", SAMPLE.read_bytes())
    assert not at.exception, at.exception
    read_as = at.text[0].value
    assert "Encoding: utf-8" in read_as and "Delimiter: comma" in read_as
    assert {m.label: m.value for m in at.metric}["Rejected"] == "3"
    problems = at.dataframe[-1].value
    assert list(problems["where"]) == [
        "sample-credentials.csv, line 12",
        "sample-credentials.csv, line 20",
        "sample-credentials.csv, line 27",
    ]
    [import_button] = [b for b in at.button if b.label == "Import"]
    assert import_button.disabled  # rejected rows: only with the skip option
    assert _credentials(app_engine) == 0


def test_the_import_runs_once_however_often_the_button_is_clicked(
    app_engine: Engine, people: dict[str, int]
) -> None:
    at = _upload(_open(app_engine, people["admin"]), "sample.csv", SAMPLE.read_bytes())
    at.checkbox[0].check().run()
    [button] = [b for b in at.button if b.label == "Import"]
    at = button.click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("Imported: 37 added")
    assert _credentials(app_engine) == 37
    at = at.run()  # the next rerun: the same upload and options were imported
    [button] = [b for b in at.button if b.label == "Import"]
    assert button.disabled
    assert _credentials(app_engine) == 37
    assert _imports_audited(app_engine) == 1
    assert at.success[0].value.startswith("Imported: 37 added")
    assert any(d.label.startswith("Download the rejected rows") for d in at.get("download_button"))


def test_a_semicolon_file_with_other_headers_is_mapped_and_imported(
    app_engine: Engine, people: dict[str, int]
) -> None:
    text = "Student ID;Email Address;Programme;Award Date;Certificate Number\n"
    text += "S1;s1@example.org;DA-101;2024-02-02;CERT-1\n"
    at = _upload(_open(app_engine, people["admin"]), "registry.csv", text.encode("cp1252"))
    assert "Delimiter: semicolon" in at.text[0].value
    mapping = at.get("arrow_data_frame")
    assert mapping is not None
    [button] = [b for b in at.button if b.label == "Import"]
    at = button.click().run()
    assert at.success[0].value.startswith("Imported: 1 added")


def test_a_manager_imports_only_into_their_programmes(
    app_engine: Engine, people: dict[str, int]
) -> None:
    rows = [*award_rows(1), "urn:uuid:other,MC-DATA,S9,s9@example.org,A,B,2024-01-01,7"]
    at = _open(app_engine, people["manager"])
    at = _upload(at, "mixed.csv", "\n".join([HEADER, *rows]).encode())
    assert not at.exception, at.exception
    problems = at.dataframe[-1].value
    assert list(problems["reason"]) == ["is not one of the programmes you may import into"]


def test_a_file_without_a_required_column_is_one_sentence(
    app_engine: Engine, people: dict[str, int]
) -> None:
    at = _upload(_open(app_engine, people["admin"]), "bad.csv", b"name,grade\nAna,7\n")
    assert next(e.value for e in at.error).startswith("bad.csv has no column for credential_id")


def test_hostile_cells_are_shown_as_inert_text(app_engine: Engine, people: dict[str, int]) -> None:
    row = (
        'urn:uuid:h1,DA-101,S1,h1@example.org,"=HYPERLINK(""x"")",<img src=x onerror=alert(1)>,'
        "2024-01-01,7"
    )
    at = _upload(_open(app_engine, people["admin"]), "hostile.csv", f"{HEADER}\n{row}\n".encode())
    assert not at.exception, at.exception
    preview = at.dataframe[0].value
    assert "<img src=x onerror=alert(1)>" in preview.iloc[0].tolist()
    assert '=HYPERLINK("x")' in preview.iloc[0].tolist()
    assert not any("onerror" in m.value for m in at.markdown)


# -- Open Badges 3.0 ---------------------------------------------------------------------------


def _badges(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.radio[0].set_value(at.radio[0].options[1]).run()
    at.file_uploader[0].set_value([(name, data, "application/json") for name, data in files])
    return at.run()


def _texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def test_a_corpus_badge_is_checked_then_imported_once_however_often_confirm_is_pressed(
    app_engine: Engine, people: dict[str, int]
) -> None:
    data = (credentials_dir() / "ref_full_ex.json").read_bytes()
    at = _badges(_open(app_engine, people["admin"]), ("ref_full_ex.json", data))
    assert not at.exception, at.exception
    assert "1 credential read." in _texts(at)
    assert {m.label: m.value for m in at.metric}["Added"] == "1"
    new = at.dataframe[-1].value  # the programme the import creates, its stand-ins named
    assert len(new) == 1 and new.iloc[0]["code"]
    assert any(w.value.startswith("Signatures are not verified") for w in at.warning)
    assert _credentials(app_engine) == 0  # the check wrote nothing
    [button] = [b for b in at.button if b.label == "Import"]
    at = button.click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("Imported: 1 added")
    [button] = [b for b in at.button if b.label == "Import"]
    at = button.click().run()  # pressed again, as drawn before the first import finished
    assert not at.exception, at.exception
    [button] = [b for b in at.button if b.label == "Import"]
    assert button.disabled
    assert at.success[0].value.startswith("Imported: 1 added")
    assert _credentials(app_engine) == 1
    assert _imports_audited(app_engine) == 1


def test_a_schema_invalid_badge_shows_its_json_path_and_nothing_is_written(
    app_engine: Engine, people: dict[str, int]
) -> None:
    credential = corpus_credential("theed_regular_full_ho.json")
    del credential["credentialSubject"]["achievement"]["criteria"]
    good = (credentials_dir() / "ref_full_ex.json").read_bytes()
    at = _badges(
        _open(app_engine, people["admin"]),
        ("good.json", good),
        ("bad.json", json.dumps(credential).encode()),
    )
    assert not at.exception, at.exception
    problems = at.dataframe[0].value
    assert list(problems["where"]) == ["bad.json"]
    assert list(problems["JSON path"]) == ["$.credentialSubject.achievement.criteria"]
    assert "is required but missing" in problems.iloc[0]["reason"]
    [button] = [b for b in at.button if b.label == "Import"]
    assert button.disabled  # a rejected credential: only with the skip option
    assert _credentials(app_engine) == 0


def test_a_jwt_upload_says_signatures_are_not_verified(
    app_engine: Engine, people: dict[str, int]
) -> None:
    token = as_jwt(corpus_credential("uvh_fvhz_microcredential_full.json"))
    at = _badges(_open(app_engine, people["admin"]), ("badge.jwt", token.encode()))
    assert not at.exception, at.exception
    assert "1 credential read, decoded from a JWT." in _texts(at)
    assert next(w.value for w in at.warning).startswith("Signatures are not verified: JWT")


def test_a_manager_imports_badges_only_into_their_programmes(
    app_engine: Engine, people: dict[str, int]
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(credentials_dir() / "ref_full_ex.json", "ref_full_ex.json")
    at = _badges(_open(app_engine, people["manager"]), ("badges.zip", archive.getvalue()))
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Rejected"] == "1"
    assert "Programmes the import creates" not in " ".join(_texts(at))  # a manager creates none


def test_a_manager_imports_a_badge_of_their_own_programme(
    app_engine: Engine, people: dict[str, int]
) -> None:
    credential = corpus_credential("ref_full_ex.json")
    with session_scope(app_engine) as session:  # DA-101, in the manager's scope, is this badge
        session.execute(
            sa.text("UPDATE programme SET achievement_id = :a WHERE code = 'DA-101'"),
            {"a": credential["credentialSubject"]["achievement"]["id"]},
        )
    at = _badges(
        _open(app_engine, people["manager"]), ("mine.json", json.dumps(credential).encode())
    )
    assert {m.label: m.value for m in at.metric}["Added"] == "1"
    [button] = [b for b in at.button if b.label == "Import"]
    at = button.click().run()
    assert at.success[0].value.startswith("Imported: 1 added")
    assert _credentials(app_engine) == 1


def test_a_zip_slip_upload_is_one_sentence(app_engine: Engine, people: dict[str, int]) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.json", "{}")
    at = _badges(_open(app_engine, people["admin"]), ("evil.zip", archive.getvalue()))
    assert "leaves the archive" in next(e.value for e in at.error)
    assert _credentials(app_engine) == 0
