"""Ingest: read an export (any format, encoding, delimiter), understand its headers, and
land it unchanged in the warehouse's raw layer, phones normalised and passwords hashed."""
