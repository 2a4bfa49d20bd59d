"""Imported passwords become argon2id hashes."""

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from flows import passwords
from flows.passwords import hash_passwords


def test_passwords_become_verifiable_argon2id_hashes():
    hashes = hash_passwords(["Geheim123", " Geheim123 ", "", "other"])
    assert set(hashes) == {"", "Geheim123", "other"}
    assert hashes[""] == ""
    assert hashes["Geheim123"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    verifier = PasswordHasher()  # the booking app's defaults still verify: parameters ride in the hash
    assert verifier.verify(hashes["Geheim123"], "Geheim123")
    with pytest.raises(VerifyMismatchError):
        verifier.verify(hashes["other"], "Geheim123")


def test_many_distinct_passwords_are_hashed_in_a_process_pool(monkeypatch):
    monkeypatch.setattr(passwords, "PARALLEL_THRESHOLD", 4)
    values = [f"pw-{i}" for i in range(12)]
    hashes = hash_passwords(values)
    assert all(PasswordHasher().verify(hashes[v], v) for v in values)
    assert len({hashes[v] for v in values}) == 12  # salted: no two alike


def test_a_hashing_failure_does_not_carry_the_password():
    with pytest.raises(RuntimeError) as e:
        hash_passwords(["fine", "bad\ud800secret"])  # lone surrogate: cannot be encoded
    assert "secret" not in str(e.value) and e.value.__cause__ is None and e.value.__context__ is None
