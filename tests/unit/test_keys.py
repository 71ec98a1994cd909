"""Subkeys are independent per purpose, and a digest for one purpose says nothing of another."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from outcomes.keys import Purpose, labelled_hmac, labelled_hmac_hex, subkey

KEY = "test-secret-key-that-is-long-enough-0123456789"


def test_every_purpose_gets_its_own_subkey() -> None:
    keys = {subkey(KEY, purpose) for purpose in Purpose}
    assert len(keys) == len(Purpose)
    assert all(len(k) == 32 for k in keys)
    assert KEY.encode() not in keys


def test_the_subkey_is_rfc5869_hkdf_sha256_with_the_purpose_as_info() -> None:
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"outcomes/v1/subkeys", info=b"audit-hash"
    ).derive(KEY.encode())
    assert subkey(KEY, Purpose.AUDIT_HASH) == expected


def test_the_same_value_hashes_differently_for_each_purpose_and_key() -> None:
    value = "outcomes-demo-staff:admin"
    digests = {labelled_hmac(KEY, purpose, value) for purpose in Purpose}
    assert len(digests) == len(Purpose)
    assert labelled_hmac(KEY + "x", Purpose.AUDIT_HASH, value) != labelled_hmac(
        KEY, Purpose.AUDIT_HASH, value
    )
    # Neither the master key nor the subkey without the label reproduces the digest.
    plain = hmac.new(KEY.encode(), value.encode(), hashlib.sha256).digest()
    unlabelled = hmac.new(subkey(KEY, Purpose.AUDIT_HASH), value.encode(), hashlib.sha256).digest()
    assert labelled_hmac(KEY, Purpose.AUDIT_HASH, value) not in {plain, unlabelled}


def test_the_label_is_part_of_the_input() -> None:
    manual = hmac.new(subkey(KEY, Purpose.SESSION), b"session\x00abc", hashlib.sha256).hexdigest()
    assert labelled_hmac_hex(KEY, Purpose.SESSION, "abc") == manual
