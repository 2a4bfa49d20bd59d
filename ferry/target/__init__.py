"""The target booking database: its schema and everything that writes it.

Modules: db (URL, connections, schema + schema_version, tenant lock, errors), stage (bulk
copy of a run's marts into temp tables: COPY on PostgreSQL, executemany on SQLite; the
balances ride in the clients' rows), plan (matching and decisions into narrow temp
tables; reads the target only, so a dry run runs it too), write (the load's set-based
writes, change log, control totals, indexes built after a bulk insert). Public entry
points: ferry/target/load.py, ferry/target/undo.py, ferry/target/contacts.py. Schema: schema_sqlite.sql and
schema_postgres.sql (version 3; upgrades go in db.UPGRADES).

Rules where the contract leaves a choice (docs/CONTRACT.md §6):
- Matching: a file client matches the tenant's client with the same lower(email) when it
  has an e-mail, else the one with the same match_key (the lowest id if the target holds
  duplicates). Matched clients get every field from the file (tags too: set, not merged,
  so a corrected file can remove a tag); "updated" when a field, a migrated balance or the
  registration changes, else "unchanged".
- Logins: a file never clears a login. The target's password hash is authoritative once
  set: a file sets it (and must_change_password) only for a client without one or when
  the login id changes — salted hashes of one password never compare equal, and the
  person may have changed it in the app.
- Balances are set to the file's sum, never added. A kind the file does not carry is left
  alone. Zero amounts are stored (a corrected file can set a balance back to 0).
- Invitations: "no second invitation" counts every invitation not withdrawn, so a rerun
  queues nothing even after the app has moved the first one on from 'pending'.
- A new client whose e-mail already has an app account stays unregistered (the trigger
  only acts when an account is inserted); only a login import links to an account.
- tags and extra are JSON text on both SQLite and PostgreSQL (CHECKed to be a JSON array /
  object), so every reader gets the same string.
- Concurrency: PostgreSQL takes pg_advisory_xact_lock per tenant; SQLite takes the whole
  database's write lock (BEGIN IMMEDIATE). A second migration waits FERRY_LOCK_TIMEOUT
  seconds (default 600), then fails with exit 3.
- Undo: see ferry/target/undo.py (latest run of a tenant first; refuses when a client registered
  since).
- balances.client_id and invite_queue.client_id have no declared foreign key (checking 2M
  references cost more than the rest of a 1M-client load); appointments.client_id and the
  account links keep theirs. Whoever deletes a client deletes its balances too.
- The claim trigger is statement-level on PostgreSQL (one join for a bulk login import),
  per row on SQLite; same effect.
- A SQLite writer killed mid-load leaves a hot journal; the next read (even a dry run)
  opens read-write once so SQLite rolls it back to the last committed state.
"""
