"""Open Badges files uploaded on the Import records page: the check, the import, the limits."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outcomes.errors import ValidationProblem
from outcomes.records.badge_uploads import (
    MAX_UPLOAD_BYTES,
    BadgeUploadReport,
    UploadedFile,
    badge_upload,
    badge_upload_key,
)
from tests.badge_corpus import corpus_credential, credentials_dir

TODAY = dt.date(2026, 12, 4)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _check(
    engine: Engine, files: list[UploadedFile], *, actor: str, today: dt.date, programme_scope: None
) -> BadgeUploadReport:
    return badge_upload(
        engine,
        files,
        actor=actor,
        today=today,
        dry_run=True,
        skip_invalid=False,
        programme_scope=programme_scope,
    )


def _import_skipping(engine: Engine, files: list[UploadedFile]) -> BadgeUploadReport:
    return badge_upload(
        engine,
        files,
        actor="t",
        today=TODAY,
        dry_run=False,
        skip_invalid=True,
        programme_scope=None,
    )


def _corpus(name: str) -> UploadedFile:
    return UploadedFile(name, (credentials_dir() / name).read_bytes())


def test_the_check_names_the_programmes_it_would_create_and_their_stand_ins(
    engine: Engine,
) -> None:
    credential = corpus_credential("ref_minimal_valid_obv3.json")
    check = _check(
        engine,
        [_corpus("ref_minimal_valid_obv3.json")],
        actor="t",
        today=TODAY,
        programme_scope=None,
    )
    [new] = check.new_programmes
    assert new.title == credential["credentialSubject"]["achievement"]["name"].strip()
    assert "ects" in new.stand_ins and "issuer_country" in new.stand_ins
    assert check.report.dry_run and _count(engine, "programme") == 0


def test_an_import_with_skip_invalid_returns_the_rejects_and_the_same_files_again_change_nothing(
    engine: Engine,
) -> None:
    files = [_corpus("ref_full_ex.json"), UploadedFile("broken.json", b"{not json")]
    result = _import_skipping(engine, files)
    assert result.report.written and result.report.summary.added == 1
    assert result.rejects_json is not None and b"broken.json" in result.rejects_json
    again = _import_skipping(engine, files)
    assert (again.report.summary.added, again.report.summary.unchanged) == (0, 1)
    assert _count(engine, "credential") == 1


def test_uploads_beyond_the_limits_or_of_another_kind_are_refused_in_one_sentence(
    engine: Engine,
) -> None:
    too_big = [UploadedFile("a.json", b" " * (MAX_UPLOAD_BYTES + 1))]
    with pytest.raises(ValidationProblem, match="more than"):
        _check(engine, too_big, actor="t", today=TODAY, programme_scope=None)
    with pytest.raises(ValidationProblem, match="is not an Open Badges file"):
        _check(
            engine, [UploadedFile("x.csv", b"a,b")], actor="t", today=TODAY, programme_scope=None
        )


def test_the_upload_key_changes_with_the_bytes_the_names_and_the_skip_option() -> None:
    one = [UploadedFile("a.json", b"{}")]
    keys = {
        badge_upload_key(one, skip_invalid=False),
        badge_upload_key(one, skip_invalid=True),
        badge_upload_key([UploadedFile("b.json", b"{}")], skip_invalid=False),
        badge_upload_key([UploadedFile("a.json", b"{ }")], skip_invalid=False),
        badge_upload_key([UploadedFile("a.js", b"on{}")], skip_invalid=False),
    }
    assert len(keys) == 5
