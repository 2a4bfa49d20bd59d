-- The target booking database, schema version 4 (SQLite).
-- Keep in step with schema_postgres.sql: same tables, columns, indexes and trigger.
-- Types: dates and timestamps are ISO text, booleans 0/1, amounts NUMERIC, tags/extra JSON text.
-- Foreign keys as on PostgreSQL (none on balances.client_id / invite_queue.client_id).
-- The claim trigger is per row here (SQLite has no statement triggers); same effect.

CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    applied_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS accounts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    email              TEXT NOT NULL,
    created_by_tenant  TEXT,
    created_at         TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    run_id             TEXT
);
CREATE INDEX IF NOT EXISTS accounts_email_key ON accounts (lower(email));

CREATE TABLE IF NOT EXISTS clients (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant                TEXT NOT NULL,
    full_name             TEXT,
    first_name            TEXT,
    last_name             TEXT,
    salutation            TEXT,
    email                 TEXT,
    phone                 TEXT,
    phone_raw             TEXT,
    postal_code           TEXT,
    birth_date            TEXT,
    newsletter_consent    BOOLEAN NOT NULL DEFAULT FALSE,
    registration_status   TEXT NOT NULL DEFAULT 'unregistered',
    account_id            INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    login_id              TEXT,
    password_hash         TEXT,
    must_change_password  BOOLEAN NOT NULL DEFAULT FALSE,
    tags                  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    extra                 TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(extra) AND json_type(extra) = 'object'),
    external_id           TEXT,
    run_id                TEXT,
    created_at            TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at            TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    match_key             TEXT,
    created_run_id        TEXT
);
CREATE INDEX IF NOT EXISTS clients_email_key ON clients (lower(email), tenant);
-- only keys without an e-mail are ever looked up (a file client with an e-mail matches by
-- it): the e-mail keys, most of a big import, stay out of this index
CREATE INDEX IF NOT EXISTS clients_match_key ON clients (tenant, match_key)
    WHERE substr(match_key, 1, 6) <> 'email:';
CREATE UNIQUE INDEX IF NOT EXISTS clients_login_key ON clients (tenant, lower(login_id))
    WHERE login_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS clients_account ON clients (account_id) WHERE account_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS balances (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT NOT NULL,
    client_id       INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    card_template   TEXT,
    amount          NUMERIC NOT NULL,
    tier            TEXT,
    run_id          TEXT,
    account_id      INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    created_run_id  TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS balances_key ON balances (client_id, kind, coalesce(card_template, ''));
-- deleting an account (undo of a login import) sets these to NULL: without an index each
-- deleted account scanned every balance. Partial (version 5): most balances have no account
-- (every balance a load inserts for a client who does not register), and an index of their
-- NULLs cost a 10M-client load 2.4 s; the look-up `account_id = ?` still uses it
CREATE INDEX IF NOT EXISTS balances_account ON balances (account_id) WHERE account_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS invite_queue (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT NOT NULL,
    client_id   INTEGER,
    email       TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    run_id      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    sent_at     TEXT,
    message_id  TEXT,
    lease_until TEXT,
    claimed_by  TEXT
);
CREATE INDEX IF NOT EXISTS invite_queue_client ON invite_queue (client_id);
CREATE UNIQUE INDEX IF NOT EXISTS invite_queue_one_pending ON invite_queue (client_id)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS invite_queue_claim ON invite_queue (tenant, status, id);

-- ferry invites send: one row per outcome of one invitation (see schema_postgres.sql)
CREATE TABLE IF NOT EXISTS invite_sends (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT NOT NULL,
    invite_id   INTEGER NOT NULL,
    client_id   INTEGER,
    email       TEXT NOT NULL,
    send_id     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    language    TEXT,
    message_id  TEXT,
    error       TEXT,
    logged_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS invite_sends_tenant ON invite_sends (tenant, logged_at);
CREATE INDEX IF NOT EXISTS invite_sends_invite ON invite_sends (invite_id);

CREATE TABLE IF NOT EXISTS appointments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT NOT NULL,
    client_id    INTEGER REFERENCES clients (id) ON DELETE SET NULL,
    client_name  TEXT,
    starts_at    TEXT
);
CREATE INDEX IF NOT EXISTS appointments_client ON appointments (client_id);

CREATE TABLE IF NOT EXISTS ferry_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id             TEXT NOT NULL UNIQUE,
    tenant             TEXT NOT NULL,
    status             TEXT NOT NULL,
    loaded_at          TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    undone_at          TEXT,
    replace_existing   BOOLEAN NOT NULL DEFAULT FALSE,
    counts             TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS change_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    table_name  TEXT NOT NULL,
    row_id      INTEGER NOT NULL,
    action      TEXT NOT NULL,
    before      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS change_log_run ON change_log (run_id, table_name, action);

-- docs/CONTRACT.md §6: see schema_postgres.sql. (SQLite's lower() folds ASCII letters only.)
CREATE TRIGGER IF NOT EXISTS accounts_claim_clients AFTER INSERT ON accounts
BEGIN
    UPDATE clients
       SET registration_status = 'registered', account_id = NEW.id, updated_at = CURRENT_TIMESTAMP
     WHERE registration_status = 'unregistered'
       AND lower(email) = lower(NEW.email)
       AND (NEW.created_by_tenant IS NULL OR tenant = NEW.created_by_tenant);
    UPDATE balances
       SET account_id = NEW.id
     WHERE client_id IN (SELECT id FROM clients WHERE account_id = NEW.id)
       AND account_id IS NOT NEW.id;
END;
