"""Reading credential records from a student-records CSV export (docs/records.md, "CSV").

The file's encoding (UTF-8 with or without a byte-order mark, Windows-1252, Latin-1) and
delimiter (comma, semicolon, tab, bar) are detected and may be given; its headers are mapped
to the documented columns (:data:`COLUMNS`) by name, by common synonyms, or by an explicit
mapping; each row is validated column by column into an ``importing.Row`` or an
``importing.Rejected`` naming the line, the column, the value and the reason. Nothing here
touches the database: ``records.importing`` does.

Rows are validated with plain functions rather than a pydantic model per row, for speed at a
million rows (see ``records.importing``); ``tests/integration/test_csv_import.py`` checks that
these checks accept and refuse what ``records.model.CredentialRecord`` does.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy.engine import Engine

from outcomes.errors import ValidationProblem
from outcomes.exports import safe_csv_writer, spreadsheet_safe
from outcomes.records.importing import (
    CHUNK_ROWS,
    DEFAULT_SCHEME,
    ImportReport,
    Item,
    Progress,
    Rejected,
    Row,
    import_records,
)
from outcomes.records.model import Origin, Problem
from outcomes.vocab import ENROLMENT_STATUSES, LANGUAGES

DateOrder = Literal["iso", "dmy", "mdy"]
DATE_ORDERS: tuple[DateOrder, ...] = ("iso", "dmy", "mdy")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


@dataclass(frozen=True)
class Column:
    """One documented column of the import file."""

    name: str
    meaning: str
    required: str  # "yes", "no", or when it is required
    example: str
    max_length: int
    synonyms: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column(
        "credential_id",
        "The award's own id in your records (an Open Badges id, a certificate number): "
        "what makes a re-import update instead of duplicate.",
        "yes",
        "urn:uuid:ca2e3374-6430-4a5d-97fa-841fe9a86647",
        500,
        (
            "credential",
            "credential number",
            "award id",
            "award number",
            "certificate id",
            "certificate number",
            "certificate",
            "badge id",
        ),
    ),
    Column(
        "programme_code",
        "The programme's code, as on the Programmes page.",
        "yes, unless achievement_id is given",
        "MC-DATA",
        40,
        ("programme", "program", "program code", "course code", "course", "micro credential"),
    ),
    Column(
        "achievement_id",
        "The programme's Open Badges achievement id.",
        "no",
        "https://example.edu/achievements/data",
        500,
        ("achievement", "badge class", "badge class id"),
    ),
    Column(
        "learner_external_id",
        "The learner's id in your student records.",
        "yes, unless email is given",
        "UE-2021-0000186",
        500,
        (
            "external learner id",
            "external_learner_id",
            "student id",
            "student number",
            "student no",
            "student code",
            "learner id",
            "learner number",
            "matriculation number",
            "external id",
        ),
    ),
    Column(
        "learner_id_scheme",
        f"Which system learner_external_id comes from (default '{DEFAULT_SCHEME}').",
        "no",
        DEFAULT_SCHEME,
        60,
        ("id scheme", "identifier scheme", "id type"),
    ),
    Column(
        "email",
        "The learner's e-mail address, for survey invitations (kept with their identity, "
        "apart from analysis data).",
        "yes, unless learner_external_id is given",
        "wilfredo.cuenca186@alumni.example",
        320,
        (
            "e mail",
            "email address",
            "e mail address",
            "mail",
            "student email",
            "student e mail",
            "contact email",
        ),
    ),
    Column(
        "given_name",
        "The learner's given name(s).",
        "no",
        "Wilfredo",
        200,
        ("first name", "forename", "forenames", "given names", "nombre"),
    ),
    Column(
        "family_name",
        "The learner's family name(s).",
        "no",
        "Cuenca Mascaró",
        200,
        ("last name", "surname", "surnames", "family names", "apellidos"),
    ),
    Column(
        "preferred_language",
        f"The learner's language: {', '.join(LANGUAGES)}.",
        "no",
        "es",
        2,
        ("language", "lang", "idioma"),
    ),
    Column(
        "enrolment_start",
        "When the enrolment began (default: the issue date).",
        "no",
        "2021-01-04",
        10,
        (
            "enrollment start",
            "enrolment start date",
            "enrollment start date",
            "start date",
            "enrolment date",
            "enrollment date",
            "enrolled on",
            "started on",
            "start",
        ),
    ),
    Column(
        "completion_date",
        "When the enrolment ended (default: the issue date).",
        "yes, unless issued_on is given",
        "2021-03-15",
        10,
        (
            "enrolment end",
            "enrollment end",
            "end date",
            "completed on",
            "completion",
            "date completed",
            "ended on",
        ),
    ),
    Column(
        "enrolment_status",
        f"The enrolment's status: {', '.join(ENROLMENT_STATUSES)} (default completed).",
        "no",
        "completed",
        20,
        ("enrollment status",),
    ),
    Column(
        "issued_on",
        "When the credential was awarded (default: the completion date).",
        "yes, unless completion_date is given",
        "2021-03-15",
        10,
        (
            "issue date",
            "issued",
            "award date",
            "awarded on",
            "date awarded",
            "date of award",
            "issued date",
            "issuance date",
        ),
    ),
    Column(
        "grade",
        "The grade, as your grading scheme writes it.",
        "no",
        "6.9",
        60,
        ("mark", "result", "score", "final grade", "final mark", "nota"),
    ),
    Column(
        "status",
        "active or revoked (default active).",
        "no",
        "active",
        20,
        ("credential status", "award status"),
    ),
    Column(
        "revoked_on",
        "When the credential was revoked (status revoked).",
        "no",
        "",
        10,
        ("revocation date", "revoked", "date revoked"),
    ),
    Column(
        "expires_on",
        "When the credential expires (read and checked; not stored yet).",
        "no",
        "",
        10,
        ("expiry date", "expiration date", "expires", "valid until"),
    ),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
_BY_NAME = {c.name: c for c in COLUMNS}
# Names a mapping may use for a column besides its own.
_TARGET_ALIASES = {
    "external_learner_id": "learner_external_id",
    "student_id": "learner_external_id",
}


def normalise_header(text: str) -> str:
    """A header as compared: lower case, any run of punctuation or spaces one space."""
    return re.sub(r"[^0-9a-z]+", " ", text.strip().lstrip("\ufeff").lower()).strip()


_SYNONYMS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.name, *_column.synonyms):
        _SYNONYMS[normalise_header(_name)] = _column.name


def template_csv() -> str:
    """The import template: the header and one example row (``outcomes import template``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMN_NAMES)
    writer.writerow([c.example for c in COLUMNS])
    return buffer.getvalue()


# --- encoding and delimiter -----------------------------------------------------------------

_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class Detected:
    """An encoding or delimiter, and how it was decided (shown for confirmation)."""

    value: str
    how: str


def detect_encoding(path: Path) -> tuple[Detected, int]:
    """The file's encoding, by a stated rule, and its number of lines.

    The rule: a UTF-8 byte-order mark means UTF-8 (``utf-8-sig``); else the whole file
    decoding as strict UTF-8 means UTF-8; else Windows-1252 (``cp1252``), which reads every
    Latin-1 letter the same and also the typographic quotes and dashes Windows puts in
    0x80–0x9F; else (one of the five bytes cp1252 leaves undefined) Latin-1.
    """
    with path.open("rb") as handle:
        head = handle.read(len(_BOM))
    if head == _BOM:
        return Detected("utf-8-sig", "UTF-8 byte-order mark"), _count_lines(path)
    for encoding, how in (
        ("utf-8", "the whole file is valid UTF-8"),
        ("cp1252", "not valid UTF-8; valid Windows-1252"),
    ):
        lines = _decodes(path, encoding)
        if lines is not None:
            return Detected(encoding, how), lines
    return Detected("latin-1", "neither UTF-8 nor Windows-1252"), _count_lines(path)


def _decodes(path: Path, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines = 0
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                decoder.decode(block)
                lines += block.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return lines


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def check_encoding(name: str) -> str:
    """An encoding given by hand, checked (one sentence if Python does not know it)."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValidationProblem(
            f"Unknown encoding {name!r}: use utf-8, utf-8-sig, cp1252 or latin-1."
        ) from None


def detect_delimiter(sample: str) -> Detected:
    """The delimiter, from ``csv.Sniffer`` on the first lines, checked on the header.

    The sniffer's answer is kept only if it splits the header into several columns; else the
    candidate occurring most often in the header wins; a one-column file is comma-separated.
    """
    header = sample.splitlines()[0] if sample else ""
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in DELIMITERS and header.count(sniffed) >= 1:
        return Detected(sniffed, "detected")
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return Detected(",", "one column; assumed comma")
    return Detected(best, "the most frequent in the header")


def check_delimiter(text: str) -> str:
    """A delimiter given by hand: one character, or a name (comma, semicolon, tab)."""
    names = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "bar": "|", "pipe": "|"}
    value = names.get(text.lower(), text)
    if len(value) != 1 or value in '"\r\n':
        raise ValidationProblem(
            f"Delimiter {text!r} is not usable: give one character, or comma, semicolon or tab."
        )
    return value


# --- column mapping -------------------------------------------------------------------------


def parse_mapping(text: str) -> dict[str, str]:
    """``"Student Number=learner_external_id,Award Date=issued_on"`` as a mapping."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValidationProblem(
                f"Mapping {part.strip()!r} has no '=': write 'Their header=our_column'."
            )
        source, target = part.rsplit("=", 1)
        mapping[source.strip()] = target.strip()
    return _checked_mapping(mapping, "--map")


def load_mapping_file(path: Path) -> dict[str, str]:
    """A mapping file: YAML (or JSON, which YAML reads) of ``their header: our_column``."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValidationProblem(f"The mapping file {path.name} cannot be read ({exc}).") from None
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise ValidationProblem(
            f"The mapping file {path.name} must map each of your headers to one of our columns "
            "('Student Number: learner_external_id', one a line)."
        )
    return _checked_mapping(loaded, path.name)


def _checked_mapping(mapping: Mapping[str, str], where: str) -> dict[str, str]:
    checked = {}
    for source, target in mapping.items():
        name = _TARGET_ALIASES.get(target, target)
        if name not in _BY_NAME:
            raise ValidationProblem(
                f"{where}: {target!r} is not a column of the import (columns: "
                f"{', '.join(COLUMN_NAMES)})."
            )
        checked[source] = name
    return checked


@dataclass(frozen=True)
class ColumnMapping:
    """Which header of the file feeds which column: decided, and how."""

    header: tuple[str, ...]
    columns: dict[str, int]  # our column -> index in the header
    how: dict[str, str]  # our column -> "named", "synonym", "mapped"
    ignored: tuple[str, ...]

    def missing_required(self) -> list[str]:
        """The required columns (or pairs of alternatives) the file lacks."""
        have = set(self.columns)
        missing = []
        if "credential_id" not in have:
            missing.append("credential_id")
        if not have & {"programme_code", "achievement_id"}:
            missing.append("programme_code (or achievement_id)")
        if not have & {"learner_external_id", "email"}:
            missing.append("learner_external_id (or email)")
        if not have & {"issued_on", "completion_date"}:
            missing.append("issued_on (or completion_date)")
        return missing

    def rows(self) -> list[dict[str, str]]:
        """The mapping as a table: our column, the file's header, how it was matched."""
        return [
            {"column": name, "file_header": self.header[index], "matched": self.how[name]}
            for name, index in sorted(self.columns.items(), key=lambda kv: kv[1])
        ]


def map_columns(header: Sequence[str], explicit: Mapping[str, str] | None = None) -> ColumnMapping:
    """Map the file's header to our columns: explicit mapping first, then names and synonyms."""
    explicit = dict(explicit or {})
    by_normal = {normalise_header(k): v for k, v in explicit.items()}
    columns: dict[str, int] = {}
    how: dict[str, str] = {}
    ignored = []
    for index, raw in enumerate(header):
        normal = normalise_header(raw)
        if normal in by_normal:
            target, matched = by_normal.pop(normal), "mapped"
        elif normal in _SYNONYMS:
            target = _SYNONYMS[normal]
            matched = "named" if normal == normalise_header(target) else "synonym"
        else:
            ignored.append(raw)
            continue
        if target in columns:
            if how[target] == "mapped" and matched != "mapped":
                ignored.append(raw)
                continue
            if matched != "mapped":
                raise ValidationProblem(
                    f"Two headers, {header[columns[target]]!r} and {raw!r}, both read as "
                    f"{target}: map the one to use with --map '{raw}={target}' or rename one."
                )
        columns[target] = index
        how[target] = matched
    if by_normal:
        unknown = ", ".join(repr(k) for k in explicit if normalise_header(k) in by_normal)
        raise ValidationProblem(
            f"The mapping names {unknown}, which the file's header does not have "
            f"(its headers: {', '.join(header)})."
        )
    return ColumnMapping(tuple(header), columns, how, tuple(ignored))


# --- reading --------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"']+$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_STATUSES = ("active", "revoked")


def parse_date(text: str, order: DateOrder) -> dt.date | str:
    """``text`` as a date, or the reason it is not one (never a guess between orders)."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return "is not a real date"
    numeric = _NUMERIC_DATE.match(text)
    if numeric is None:
        expected = "YYYY-MM-DD" if order == "iso" else f"YYYY-MM-DD or {_order_pattern(order)}"
        return f"is not a valid date (expected {expected})"
    first, second, year = (int(g) for g in numeric.groups())
    if order == "iso":
        if first <= 12 and second <= 12 and first != second:
            return (
                "is ambiguous: day/month or month/day? Give dates as YYYY-MM-DD or choose "
                "the date order (--dates dmy or --dates mdy)"
            )
        return (
            "is not a valid date (expected YYYY-MM-DD; for day/month/year dates choose "
            "the date order dmy)"
        )
    day, month = (first, second) if order == "dmy" else (second, first)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return f"is not a real date (read as {_order_pattern(order)})"


def _order_pattern(order: DateOrder) -> str:
    return "DD/MM/YYYY" if order == "dmy" else "MM/DD/YYYY"


@dataclass
class CsvOptions:
    """How to read a file: anything left None is detected."""

    encoding: str | None = None
    delimiter: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    dates: DateOrder = "iso"


@dataclass(frozen=True)
class CsvFile:
    """A CSV file ready to read: its detected or given encoding, delimiter and mapping."""

    path: Path
    name: str
    encoding: Detected
    delimiter: Detected
    mapping: ColumnMapping
    dates: DateOrder
    lines: int

    @property
    def estimated_rows(self) -> int:
        return max(self.lines - 1, 0)

    def chunks(self) -> Iterator[list[Item]]:
        """The file's records in chunks (``importing.ImportInput``)."""
        convert = _RowReader(self)
        chunk: list[Item] = []
        with self.path.open(encoding=self.encoding.value, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter.value)
            line = 1
            try:
                next(reader)
                line = reader.line_num + 1
                for cells in reader:
                    if cells:
                        chunk.append(convert(cells, line))
                        if len(chunk) >= CHUNK_ROWS:
                            yield chunk
                            chunk = []
                    line = reader.line_num + 1
            except csv.Error as exc:
                raise ValidationProblem(
                    f"{self.name}, line {line}: the file cannot be read as CSV ({exc})."
                ) from None
        if chunk:
            yield chunk

    def preview(self, rows: int = 5) -> list[list[str]]:
        """The header and the first ``rows`` rows as read (for confirmation)."""
        out: list[list[str]] = []
        with self.path.open(encoding=self.encoding.value, newline="") as handle:
            for cells in csv.reader(handle, delimiter=self.delimiter.value):
                out.append(cells)
                if len(out) > rows:
                    break
        return out


def open_csv(path: Path, options: CsvOptions | None = None, *, name: str | None = None) -> CsvFile:
    """Detect (or take) the encoding, delimiter and mapping of ``path``; check its columns.

    A file without a required column is refused in one sentence, before any row is read.
    """
    options = options or CsvOptions()
    shown = name or path.name
    if not path.is_file():
        raise ValidationProblem(f"There is no file {shown}.")
    if options.encoding:
        lines = _count_lines(path)
        encoding = Detected(check_encoding(options.encoding), "given")
    else:
        encoding, lines = detect_encoding(path)
    try:
        with path.open(encoding=encoding.value, newline="") as handle:
            sample = handle.read(64 * 1024)
    except UnicodeDecodeError:
        raise ValidationProblem(
            f"{shown} is not {encoding.value} text: give its encoding (--encoding)."
        ) from None
    if not sample.strip():
        raise ValidationProblem(f"{shown} is empty: it needs a header line and rows.")
    if options.delimiter:
        delimiter = Detected(check_delimiter(options.delimiter), "given")
    else:
        delimiter = detect_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample), delimiter=delimiter.value))
    mapping = map_columns(header, options.mapping)
    missing = mapping.missing_required()
    if missing:
        named = DELIMITERS.get(delimiter.value, repr(delimiter.value))
        raise ValidationProblem(
            f"{shown} has no column for {', '.join(missing)} (its headers: "
            f"{', '.join(h.strip() for h in header)}; read with {named} as the delimiter): "
            "rename the header or map it with --map 'Your header=column'."
        )
    return CsvFile(path, shown, encoding, delimiter, mapping, options.dates, lines)


# The columns the fast path reads, in its order; a file with any other column (a scheme,
# statuses, revocations) takes the full checks on every row.
_FAST_COLUMNS = (
    "credential_id",
    "programme_code",
    "learner_external_id",
    "email",
    "given_name",
    "family_name",
    "preferred_language",
    "enrolment_start",
    "completion_date",
    "issued_on",
    "grade",
)


def _iso_date(text: str) -> dt.date:
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(text)
    return dt.date.fromisoformat(text)


class _RowReader:
    """Cells of one line -> a ``Row`` or a ``Rejected`` (column checks as plain code)."""

    def __init__(self, file: CsvFile) -> None:
        self.file = file.name
        self.width = len(file.mapping.header)
        self.index = file.mapping.columns
        self.dates = file.dates
        # The fast path reads these columns by position (-1: not in the file).
        at = self.index.get
        self.fast_columns = tuple(at(name, -1) for name in _FAST_COLUMNS)
        self.fast_ok = self.dates == "iso" and all(name in _FAST_COLUMNS for name in self.index)

    def __call__(self, cells: list[str], line: int) -> Item:
        """The row, from the fast path when it applies, else from the full checks."""
        if self.fast_ok and len(cells) == self.width:
            row = self._fast(cells, line)
            if row is not None:
                return row
        return self.checked(cells, line)

    def _fast(self, cells: list[str], line: int) -> Row | None:
        """The common case in straight-line code: an ISO-dated row every check passes.

        Returns None at the first doubt; :meth:`checked` then says what is wrong (or accepts
        the row after all). ``test_csv_import`` checks that both agree on what they accept.
        """
        (
            i_cid,
            i_code,
            i_ext,
            i_email,
            i_given,
            i_family,
            i_lang,
            i_start,
            i_end,
            i_issued,
            i_grade,
        ) = self.fast_columns
        cid = cells[i_cid].strip()
        code = cells[i_code].strip() if i_code >= 0 else ""
        ext = cells[i_ext].strip() if i_ext >= 0 else ""
        email = cells[i_email].strip().lower() if i_email >= 0 else ""
        given = cells[i_given].strip() if i_given >= 0 else ""
        family = cells[i_family].strip() if i_family >= 0 else ""
        lang = cells[i_lang].strip().lower() if i_lang >= 0 else ""
        grade = cells[i_grade].strip() if i_grade >= 0 else ""
        if not (cid and code and (ext or email)):
            return None
        if (
            len(cid) > 500
            or len(code) > 40
            or len(ext) > 500
            or len(email) > 320
            or len(given) > 200
            or len(family) > 200
            or len(grade) > 60
            or "\x00" in "".join(cells)
        ):
            return None
        if email and _EMAIL.match(email) is None:
            return None
        if lang and lang not in LANGUAGES:
            return None
        try:
            start_text = cells[i_start].strip() if i_start >= 0 else ""
            end_text = cells[i_end].strip() if i_end >= 0 else ""
            issued_text = cells[i_issued].strip() if i_issued >= 0 else ""
            started = _iso_date(start_text) if start_text else None
            ended = _iso_date(end_text) if end_text else None
            issued = _iso_date(issued_text) if issued_text else ended
        except ValueError:
            return None
        if issued is None or (started is not None and (ended or issued) < started):
            return None
        return Row(
            self.file,
            line,
            None,
            cid,
            code,
            None,
            ((DEFAULT_SCHEME, ext),) if ext else (),
            email or None,
            given or None,
            family or None,
            lang or None,
            started,
            ended,
            "completed",
            issued,
            grade or None,
            "active",
            None,
            None,
            "csv",
            None,
            tuple(cells),
        )

    def checked(self, cells: list[str], line: int) -> Item:
        """Every check on every column, each problem named."""
        raw = tuple(cells)
        if len(cells) != self.width:
            return self._rejected(
                line,
                raw,
                [
                    (
                        None,
                        None,
                        f"has {len(cells)} cells where the header has {self.width} "
                        "(a stray delimiter or quote?)",
                    )
                ],
            )
        bad: list[tuple[str | None, str | None, str]] = []
        values: dict[str, str] = {}
        for name, index in self.index.items():
            cell = cells[index].strip()
            if not cell:
                continue
            if "\x00" in cell:
                bad.append((name, cell, "contains a NUL character, which no record needs"))
                continue
            limit = _BY_NAME[name].max_length
            if len(cell) > limit:
                bad.append((name, cell, f"is longer than {limit} characters"))
                continue
            values[name] = cell
        get = values.get
        credential_id = get("credential_id")
        if credential_id is None:
            bad.append(("credential_id", None, "is missing"))
        code, achievement = get("programme_code"), get("achievement_id")
        if code is None and achievement is None:
            bad.append(("programme_code", None, "is missing"))
        external, email = get("learner_external_id"), get("email")
        if email is not None:
            email = email.lower()
            if _EMAIL.match(email) is None:
                bad.append(("email", email, "is not an e-mail address"))
        if external is None and email is None:
            bad.append(("learner_external_id", None, "is missing, and so is the e-mail address"))
        language = get("preferred_language")
        if language is not None:
            language = language.lower()
            if language not in LANGUAGES:
                bad.append(
                    ("preferred_language", language, f"is not one of {', '.join(LANGUAGES)}")
                )
        dates: dict[str, dt.date | None] = {}
        for name in ("enrolment_start", "completion_date", "issued_on", "revoked_on", "expires_on"):
            text = get(name)
            if text is None:
                dates[name] = None
                continue
            parsed = parse_date(text, self.dates)
            if isinstance(parsed, str):
                bad.append((name, text, parsed))
                dates[name] = None
            else:
                dates[name] = parsed
        issued = dates["issued_on"] or dates["completion_date"]
        if issued is None and not any(n in ("issued_on", "completion_date") for n, _, _ in bad):
            bad.append(("issued_on", None, "is missing, and so is the completion date"))
        status = (get("status") or "active").lower()
        if status not in _STATUSES:
            bad.append(("status", status, "is not active or revoked"))
        elif dates["revoked_on"] is not None and status != "revoked":
            bad.append(("revoked_on", get("revoked_on"), "is given but the status is not revoked"))
        enrolment_status = (get("enrolment_status") or "completed").lower()
        if enrolment_status not in ENROLMENT_STATUSES:
            bad.append(
                (
                    "enrolment_status",
                    enrolment_status,
                    f"is not one of {', '.join(ENROLMENT_STATUSES)}",
                )
            )
        started = dates["enrolment_start"]
        ended = dates["completion_date"] or issued
        if started is not None and ended is not None and ended < started:
            bad.append(("enrolment_start", get("enrolment_start"), "is after the enrolment ends"))
        if bad:
            return self._rejected(line, raw, bad)
        assert credential_id is not None and issued is not None
        return Row(
            file=self.file,
            line=line,
            pointer=None,
            credential_id=credential_id,
            programme_code=code,
            achievement_id=achievement,
            external_ids=(
                ((get("learner_id_scheme") or DEFAULT_SCHEME, external),) if external else ()
            ),
            email=email,
            given_name=get("given_name"),
            family_name=get("family_name"),
            preferred_language=language,
            started_on=started,
            ended_on=dates["completion_date"],
            enrolment_status=enrolment_status,
            issued_on=issued,
            grade=get("grade"),
            status=status,
            revoked_on=dates["revoked_on"],
            expires_on=dates["expires_on"],
            source="csv",
            raw=raw,
        )

    def _rejected(
        self, line: int, raw: tuple[str, ...], bad: list[tuple[str | None, str | None, str]]
    ) -> Rejected:
        origin = Origin(file=self.file, line=line)
        return Rejected(
            origin,
            tuple(Problem(origin=origin, field=f, value=v, reason=r) for f, v, r in bad),
            raw,
        )


# --- rejects --------------------------------------------------------------------------------


class RejectsWriter:
    """The rejected rows of one file with their reasons, as CSV (spreadsheet-safe cells)."""

    def __init__(self, header: Sequence[str], stream: TextIO) -> None:
        self._writer = safe_csv_writer(stream)  # type: ignore[arg-type]
        self._writer.writerow([spreadsheet_safe(h) for h in (*header, "line", "problems")])
        self.count = 0

    def write(self, rejected: Rejected) -> None:
        """Add one rejected row."""
        cells = list(rejected.raw or ())
        problems = "; ".join(p.sentence() for p in rejected.problems)
        line = "" if rejected.origin.line is None else str(rejected.origin.line)
        self._writer.writerow([spreadsheet_safe(c) for c in (*cells, line, problems)])
        self.count += 1


def rejects_path(path: Path) -> Path:
    """Where ``--skip-invalid`` writes the rejects of ``path``: beside it."""
    return path.with_name(f"{path.stem}.rejects.csv")


def describe(file: CsvFile) -> dict[str, Any]:
    """What was detected, for the CLI's ``--json`` and the page."""
    return {
        "file": file.name,
        "encoding": file.encoding.value,
        "encoding_how": file.encoding.how,
        "delimiter": DELIMITERS.get(file.delimiter.value, file.delimiter.value),
        "delimiter_how": file.delimiter.how,
        "dates": file.dates,
        "mapping": file.mapping.rows(),
        "ignored_columns": list(file.mapping.ignored),
    }


def mapping_to_json(mapping: Mapping[str, str]) -> str:
    """A mapping as a JSON object (what the page offers to save as a mapping file)."""
    return json.dumps(dict(mapping), ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class CsvImportResult:
    """An import of CSV files: the report, what was detected, where the rejects went."""

    report: ImportReport
    files: tuple[CsvFile, ...]
    rejects_files: tuple[Path, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``--json``)."""
        return self.report.to_dict() | {
            "read_as": [describe(f) for f in self.files],
            "rejects_files": [str(p) for p in self.rejects_files],
        }


def import_csv_files(
    engine: Engine,
    files: Sequence[CsvFile],
    *,
    actor: str,
    skip_invalid: bool = False,
    dry_run: bool = False,
    bulk: bool | None = None,
    progress: Progress | None = None,
    rejects: bool = True,
) -> CsvImportResult:
    """Import opened CSV files as one import; with ``skip_invalid``, write rejects beside them.

    Each file's rejects go to ``<name>.rejects.csv`` beside it (its cells and a ``problems``
    column), only once the import committed; a dry run or a refused import writes none.
    """
    writers: dict[str, tuple[RejectsWriter, TextIO, Path]] = {}
    by_name = {f.name: f for f in files}

    def on_reject(name: str, rejected: Rejected) -> None:
        if not (skip_invalid and rejects) or dry_run:
            return
        if name not in writers:
            target = rejects_path(by_name[name].path)
            partial = target.with_name(target.name + ".partial")
            stream = partial.open("w", encoding="utf-8", newline="")
            writers[name] = (RejectsWriter(by_name[name].mapping.header, stream), stream, partial)
        writers[name][0].write(rejected)

    try:
        report = import_records(
            engine,
            files,
            actor=actor,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            bulk=bulk,
            progress=progress,
            on_reject=on_reject,
        )
    finally:
        for _, stream, _ in writers.values():
            stream.close()
    written: list[Path] = []
    for name, (_, _, partial) in writers.items():
        if report.written:
            target = rejects_path(by_name[name].path)
            partial.replace(target)
            written.append(target)
        else:
            partial.unlink(missing_ok=True)
    return CsvImportResult(report, tuple(files), tuple(written))


def rejects_csv(file: CsvFile, rejected: Sequence[Rejected]) -> bytes:
    """The rejects of ``file`` as CSV bytes (the page offers them as a download)."""
    buffer = io.StringIO()
    writer = RejectsWriter(file.mapping.header, buffer)
    for item in rejected:
        writer.write(item)
    return buffer.getvalue().encode("utf-8")
