"""Where the Open Badges 3.0 corpus lives, and how tests build credentials from it.

The corpus is the read-only ``../shared/fixtures/open-badges/`` beside the project; a copy of
its credentials and README is kept in ``tests/fixtures/open-badges/`` so that a checkout
anywhere (CI's included) runs these tests, and a test checks the copy still equals the
original wherever the original is there. Its absence fails the tests that need it rather than
skipping them: a green run must not lose the coverage it promises.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
_RELATIVE = Path("shared") / "fixtures" / "open-badges"


COPY = REPO_ROOT / "tests" / "fixtures" / "open-badges"


def shared_corpus_root() -> Path | None:
    """The original corpus, ``../shared`` from the repository or one of its parents (a git
    worktree sits deeper); None where it is not on this machine."""
    for ancestor in REPO_ROOT.parents:
        candidate = ancestor / _RELATIVE
        if (candidate / "credentials").is_dir():
            return candidate
    return None


def corpus_root() -> Path | None:
    """The corpus folder: the repository's copy."""
    return COPY if (COPY / "credentials").is_dir() else None


def credentials_dir() -> Path:
    """The corpus's ``credentials/`` folder; the test fails when it cannot be found."""
    root = corpus_root()
    if root is None:
        pytest.fail(f"the Open Badges corpus ../{_RELATIVE} is not beside {REPO_ROOT}")
    return root / "credentials"


def corpus_files() -> list[Path]:
    """Every credential file of the corpus, in name order ([] when the corpus is absent)."""
    root = corpus_root()
    return sorted((root / "credentials").glob("*.json")) if root else []


def corpus_credential(name: str) -> dict[str, Any]:
    """One corpus credential, parsed (a fresh copy to change)."""
    document: dict[str, Any] = json.loads((credentials_dir() / name).read_text("utf-8"))
    return document


def as_jwt(credential: dict[str, Any], *, wrap_vc: bool = False) -> str:
    """``credential`` as a compact JWS with a dummy signature (nothing can verify it)."""

    def part(value: object) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    payload: dict[str, Any] = {"vc": credential, "jti": credential["id"]} if wrap_vc else credential
    signature = base64.urlsafe_b64encode(b"not-a-real-signature").rstrip(b"=").decode()
    return f"{part({'alg': 'ES256', 'typ': 'JWT'})}.{part(payload)}.{signature}"
