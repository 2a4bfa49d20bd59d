"""Imported passwords become argon2id hashes before anything is written anywhere.

argon2-cffi's defaults (64 MiB, t=3, p=4) are too slow for a bulk import on the 2-core
machines Ferry runs on: hashing a big file's logins with them would take far longer than
the rest of the migration. We use OWASP's recommended argon2id minimum instead (19 MiB,
t=2, p=1: less memory to fill, fewer passes over it, one lane), still argon2id; the
parameters travel inside each hash, so the booking app verifies them as it would any other.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor

from argon2 import PasswordHasher, Type

from ferry import config

TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1


def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM, type=Type.ID)


def _hash_chunk(passwords: list[str]) -> list[str]:
    ph = hasher()
    return [ph.hash(p) for p in passwords]


def hash_passwords(values: Iterable[str]) -> list[str]:
    """One argon2id hash per cell, each with its own salt; '' (no password) stays ''.

    Cells are never de-duplicated: two clients given the same first password get
    different hashes, so the target does not reveal who shares a password.
    """
    cells = [(v or "").strip() for v in values]
    todo = [i for i, v in enumerate(cells) if v]
    failure = None
    try:
        plain = [cells[i] for i in todo]
        if len(plain) <= config.PASSWORDS_PARALLEL_THRESHOLD:
            hashes = _hash_chunk(plain)
        else:
            step = -(-len(plain) // config.PASSWORD_WORKERS)
            chunks = [plain[i : i + step] for i in range(0, len(plain), step)]
            with ProcessPoolExecutor(config.PASSWORD_WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
                hashes = [h for part in pool.map(_hash_chunk, chunks) for h in part]
    except Exception as e:
        failure = type(e).__name__
    if failure:  # raised out here so the original error (which may quote a password) is not attached
        raise RuntimeError(f"password hashing failed ({failure})")
    out = [""] * len(cells)
    for i, h in zip(todo, hashes):
        out[i] = h
    return out
