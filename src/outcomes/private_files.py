"""Files only their owner can read: the database, its directory, the answer key, exports.

Directories this creates are 0700 and files 0600 (the umask can only narrow that). Files are
opened with ``O_NOFOLLOW``, so a symlink planted at the name makes the write fail instead of
landing wherever the link points.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
_NO_FOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def make_private_directories(directory: Path) -> None:
    """Create ``directory`` and any missing parents, each 0700; existing ones are left alone."""
    missing = []
    while not os.path.lexists(directory):
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        # Made meanwhile by another process: theirs to keep as it is.
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=PRIVATE_DIRECTORY)


def create_private_file(path: Path, content: bytes = b"", *, exist_ok: bool = False) -> bool:
    """Create ``path`` as a new 0600 file holding ``content``; True if this call created it.

    An existing name (file, directory or symlink) raises ``FileExistsError``, or with
    ``exist_ok`` is left untouched and False is returned.
    """
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NO_FOLLOW, PRIVATE_FILE)
    except FileExistsError:
        if exist_ok:
            return False
        raise
    _write_all(descriptor, content)
    return True


def replace_private_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` (created or truncated), leaving it 0600; never via a link."""
    descriptor = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | _NO_FOLLOW, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)  # an older file may have been made readable to others
    _write_all(descriptor, content)


def _write_all(descriptor: int, content: bytes) -> None:
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
