"""Imported passwords become argon2id hashes, one salted hash per cell."""

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from ferry import config
from ferry.ingest.passwords import hash_passwords


def test_passwords_become_verifiable_argon2id_hashes():
    hashes = hash_passwords(["Geheim123", " Geheim123 ", "", "other", None])
    assert hashes[2] == "" and hashes[4] == ""
    assert hashes[0].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    verifier = PasswordHasher()  # the booking app's defaults still verify: parameters ride in the hash
    assert verifier.verify(hashes[0], "Geheim123")
    assert verifier.verify(hashes[1], "Geheim123")  # surrounding spaces are not part of it
    with pytest.raises(VerifyMismatchError):
        verifier.verify(hashes[3], "Geheim123")


def test_clients_sharing_a_password_do_not_share_a_hash():
    hashes = hash_passwords(["welcome1", "welcome1", "welcome1"])
    assert len(set(hashes)) == 3


def test_many_passwords_are_hashed_in_a_process_pool(monkeypatch):
    monkeypatch.setattr(config, "PASSWORDS_PARALLEL_THRESHOLD", 4)
    values = [f"pw-{i % 6}" for i in range(12)]
    hashes = hash_passwords(values)
    assert all(PasswordHasher().verify(h, v) for h, v in zip(hashes, values))
    assert len(set(hashes)) == 12  # salted: no two alike


def test_a_hashing_failure_does_not_carry_the_password():
    with pytest.raises(RuntimeError) as e:
        hash_passwords(["fine", "bad\ud800secret"])  # lone surrogate: cannot be encoded
    assert "secret" not in str(e.value) and e.value.__cause__ is None and e.value.__context__ is None
