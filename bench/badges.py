"""10,000 Open Badges 3.0 credentials in one zip: read, validate and map; then import.

The zip is built from the corpus (``../shared/fixtures/open-badges/credentials/``), cycling
through its 32 files with fresh credential and learner ids so nothing conflicts (one learner
per 5 credentials, as a unit's several badges per person). Two timings of the product:

- **check**: ``read_badges`` — open the zip (with its limits), decode, validate every
  credential against the 1EdTech schema, map to records, compare ids;
- **import**: ``import_badges`` into a fresh, migrated SQLite file — the check plus the core's
  one-transaction write.

The floor is the least work that reads the same credentials: every member of the zip
decompressed and ``json.loads``-ed, nothing checked. Run: ``python bench/run.py --only badges``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 12, 4)


@dataclass(frozen=True)
class BadgeTimings:
    """Seconds for each path over the same archive."""

    files: int
    floor: float
    check: float
    imported: float


def build_archive(target: Path, files: int) -> Path:
    """A zip of ``files`` distinct credentials made from the corpus."""
    sys.path.insert(0, str(ROOT))
    from tests.badge_corpus import corpus_files

    corpus = [json.loads(p.read_text("utf-8")) for p in corpus_files()]
    if not corpus:
        raise SystemExit("the Open Badges corpus (../shared/fixtures/open-badges) is missing")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index in range(files):
            credential = json.loads(json.dumps(corpus[index % len(corpus)]))
            credential["id"] = f"urn:uuid:bench-{index:06d}"
            credential["credentialSubject"]["id"] = f"urn:bench:learner-{index // 5:06d}"
            achievement = credential["credentialSubject"]["achievement"]
            # one programme per corpus file, so reused achievement ids do not conflict
            achievement["id"] = f"urn:bench:achievement-{index % len(corpus):02d}"
            archive.writestr(f"badges/{index:06d}.json", json.dumps(credential))
    return target


def floor_read(archive_path: Path) -> int:
    """Decompress and parse every member: the least work that reads the credentials."""
    count = 0
    with zipfile.ZipFile(archive_path) as archive:
        for entry in archive.infolist():
            json.loads(archive.read(entry))
            count += 1
    return count


def measure(files: int) -> BadgeTimings:
    """Time the floor, the check and the import of one archive of ``files`` credentials."""
    from outcomes.records.badge_import import import_badges
    from outcomes.records.open_badges import read_badges
    from outcomes.store.engine import make_engine
    from outcomes.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        archive = build_archive(Path(tmp) / "badges.zip", files)
        start = time.perf_counter()
        floor_read(archive)
        floor = time.perf_counter() - start

        start = time.perf_counter()
        batch = read_badges([archive], today=TODAY)
        check = time.perf_counter() - start
        assert len(batch.records) == files, (batch.problems[:3], batch.conflicts[:3])

        engine = make_engine(f"sqlite:///{tmp}/badges.db")
        upgrade(engine)
        start = time.perf_counter()
        result = import_badges(engine, [archive], actor="bench", today=TODAY)
        imported = time.perf_counter() - start
        assert result.report.written and result.report.summary.added == files
        engine.dispose()
    return BadgeTimings(files=files, floor=floor, check=check, imported=imported)


if __name__ == "__main__":
    timings = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(timings)
