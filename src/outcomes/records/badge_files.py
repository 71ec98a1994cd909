"""Reading Open Badges 3.0 credentials from files: JSON, compact JWT, folders and zip archives.

What is read: a ``.json`` file holding one credential (an object), an array of credentials, or
a JSON string that is a JWS compact serialisation; a ``.jwt`` / ``.jws`` file holding one
compact JWT; a folder (every ``.json``, ``.jwt`` and ``.jws`` file under it, in name order,
symbolic links not followed); a ``.zip`` archive of such files.

**Signatures are not verified.** A JWT's header and payload are decoded (base64url, JSON) and
its signature is ignored: the importer reads what a credential says, it does not vouch for
who said it. Every document decoded from a JWT is marked (``from_jwt``) and the import
report says that no signature was verified.

Archives are read in memory, never extracted, and refused as a whole when an entry's name
would leave the archive (``../``, an absolute path, a drive letter), when an entry is a
symbolic link, or when the archive is larger than the limits below (entries, bytes, ratio):
a hostile archive is not half-read.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from outcomes.errors import ValidationProblem

READABLE_SUFFIXES = (".json", ".jwt", ".jws")
# Limits: a real export of 10,000 badges with embedded images stays well inside them.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 100_000
MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
_JWS_COMPACT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class BadgeDocument:
    """One credential as read from its source, before validation.

    ``origin`` names the file (``archive.zip!inner/path.json`` for an archive entry) and
    ``pointer`` where in it the credential sits (``$`` or ``$[3]`` for an array item).
    ``credential`` is the decoded JSON object, or None when the source could not be read,
    in which case ``problem`` says why in one sentence. ``from_jwt``: decoded from a compact
    JWT, whose signature was not verified.
    """

    origin: str
    pointer: str
    credential: dict[str, Any] | None
    from_jwt: bool = False
    problem: str | None = None


def read_sources(paths: list[Path]) -> Iterator[BadgeDocument]:
    """Every credential in ``paths`` (files, folders, zip archives), in order.

    Raises ``ValidationProblem`` for a path that does not exist or a hostile archive.
    """
    for path in paths:
        if path.is_dir():
            yield from _read_folder(path)
        elif not path.exists():
            raise ValidationProblem(f"{path} does not exist.")
        elif path.suffix.lower() == ".zip":
            yield from _read_archive(path)
        else:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                yield _unreadable(path.name, f"the file is larger than {MAX_FILE_BYTES:,} bytes")
                continue
            yield from read_bytes(path.name, path.read_bytes())


def read_bytes(origin: str, data: bytes) -> Iterator[BadgeDocument]:
    """The credentials in one file's bytes: a JSON object, array or string, or a compact JWT."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield _unreadable(origin, "the file is not UTF-8 text")
        return
    stripped = text.strip()
    if _JWS_COMPACT.match(stripped):
        yield _from_jwt(origin, "$", stripped)
        return
    try:
        value = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError) as error:
        reason = getattr(error, "msg", "nesting too deep")
        yield _unreadable(origin, f"the file is neither JSON nor a compact JWT ({reason})")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield _document(origin, f"$[{index}]", item)
    else:
        yield _document(origin, "$", value)


def _document(origin: str, pointer: str, value: Any) -> BadgeDocument:
    if isinstance(value, dict):
        return BadgeDocument(origin, pointer, value)
    if isinstance(value, str) and _JWS_COMPACT.match(value.strip()):
        return _from_jwt(origin, pointer, value.strip())
    return BadgeDocument(
        origin, pointer, None, problem="expected a credential (a JSON object) or a compact JWT"
    )


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the credential of a compact JWS, decoded without checking the signature.

    The payload is the credential itself, or (VC-JWT of the VC 1.1 era) holds it as ``vc``.
    Raises ``ValueError`` with a plain reason when the token does not decode.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("a compact JWT has three parts separated by dots")
    header = _b64_json(parts[0], "header")
    payload = _b64_json(parts[1], "payload")
    if not isinstance(header, dict) or "alg" not in header:
        raise ValueError("the JWT header has no 'alg'")
    if not isinstance(payload, dict):
        raise ValueError("the JWT payload is not a JSON object")
    inner = payload.get("vc")
    credential: dict[str, Any] = inner if isinstance(inner, dict) else payload
    return header, credential


def _b64_json(part: str, name: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        raise ValueError(f"the JWT {name} is not base64url-encoded JSON") from error


def _from_jwt(origin: str, pointer: str, token: str) -> BadgeDocument:
    try:
        _header, credential = decode_jwt(token)
    except ValueError as error:
        return BadgeDocument(origin, pointer, None, from_jwt=True, problem=str(error))
    return BadgeDocument(origin, pointer, credential, from_jwt=True)


def _unreadable(origin: str, reason: str) -> BadgeDocument:
    return BadgeDocument(origin, "$", None, problem=reason)


def _folder_files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            path = Path(root, name)
            if name.startswith(".") or path.is_symlink():
                continue
            if path.suffix.lower() in (*READABLE_SUFFIXES, ".zip"):
                found.append(path)
    return sorted(found)


def _read_folder(folder: Path) -> Iterator[BadgeDocument]:
    for path in _folder_files(folder):
        shown = f"{folder.name}/{path.relative_to(folder).as_posix()}"
        if path.suffix.lower() == ".zip":
            yield from _read_archive(path, shown=shown)
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            yield _unreadable(shown, f"the file is larger than {MAX_FILE_BYTES:,} bytes")
            continue
        yield from read_bytes(shown, path.read_bytes())


def estimated_files(paths: list[Path]) -> int:
    """About how many files ``paths`` hold (a zip's entries, a folder's files): for progress."""
    total = 0
    for path in paths:
        inner = _folder_files(path) if path.is_dir() else [path]
        total += sum(_entries(p) if p.suffix.lower() == ".zip" else 1 for p in inner)
    return total


def _entries(path: Path) -> int:
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(1 for entry in archive.infolist() if not entry.is_dir())
    except (zipfile.BadZipFile, OSError):
        return 1


def check_archive(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """The archive's readable entries, or ``ValidationProblem`` if it is hostile or too large."""
    entries = archive.infolist()
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise ValidationProblem(
            f"{name} holds {len(entries):,} entries, more than {MAX_ARCHIVE_ENTRIES:,}; "
            "nothing was read from it."
        )
    total = 0
    readable: list[zipfile.ZipInfo] = []
    for entry in entries:
        if not _safe_member_name(entry.filename):
            raise ValidationProblem(
                f"{name} holds an entry whose name leaves the archive ({entry.filename!r}); "
                "nothing was read from it."
            )
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise ValidationProblem(
                f"{name} holds a symbolic link ({entry.filename!r}); nothing was read from it."
            )
        if entry.is_dir():
            continue
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > MAX_FILE_BYTES or (
            ratio > MAX_COMPRESSION_RATIO and entry.file_size > 1024 * 1024
        ):
            raise ValidationProblem(
                f"{name}: the entry {entry.filename!r} unpacks to {entry.file_size:,} bytes "
                f"(compressed {entry.compress_size:,}), beyond the limits; nothing was read "
                "from the archive."
            )
        if total > MAX_ARCHIVE_BYTES:
            raise ValidationProblem(
                f"{name} unpacks to more than {MAX_ARCHIVE_BYTES:,} bytes; nothing was read "
                "from it."
            )
        readable.append(entry)
    return readable


def _safe_member_name(member: str) -> bool:
    if not member or "\x00" in member or "\\" in member:
        return False
    if re.match(r"^[A-Za-z]:", member):
        return False
    pure = PurePosixPath(member)
    return not pure.is_absolute() and ".." not in pure.parts


def _read_archive(path: Path, shown: str | None = None) -> Iterator[BadgeDocument]:
    name = shown or path.name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValidationProblem(f"{name} is not a readable zip archive ({error}).") from error
    with archive:
        entries = check_archive(archive, name)
        for entry in sorted(entries, key=lambda e: e.filename):
            member = PurePosixPath(entry.filename)
            if member.name.startswith(".") or "__MACOSX" in member.parts:
                continue
            origin = f"{name}!{entry.filename}"
            if member.suffix.lower() not in READABLE_SUFFIXES:
                yield _unreadable(origin, "not a .json, .jwt or .jws file (no nested archives)")
                continue
            # The declared size was checked; read no more than it says, whatever the stream holds.
            with archive.open(entry) as stream:
                data = stream.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise ValidationProblem(
                    f"{name}: the entry {entry.filename!r} unpacks beyond its declared size; "
                    "nothing was read from the archive."
                )
            yield from read_bytes(origin, data)
