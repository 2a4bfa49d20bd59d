"""Benchmark tooling for Ferry: a synthetic-export generator and a timing harness.

Never run by `make test`; see bench/README.md.
"""
