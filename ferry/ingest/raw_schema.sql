-- The warehouse's raw layer (DuckDB), raw schema version 2.
-- Every raw.* table Ferry writes is created here and nowhere else: ferry/ingest/raw.py
-- runs this file (ensure_raw_schema) before any step writes or reads raw.*, and records
-- the version in raw.schema_version. Described table by table in docs/DESIGN.md; the dbt
-- sources that read them are models/staging/_raw__sources.yml.
--
-- Rules for changing it: tables and columns are only ever added, never renamed or dropped
-- (the warehouse keeps every run, and analysts query old runs). Every statement stays
-- idempotent (IF NOT EXISTS), so the file also upgrades any older warehouse; bump the
-- version above (RAW_SCHEMA_VERSION is read from that line) when a statement is added.

CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.schema_version (version INTEGER, applied_at TIMESTAMPTZ);

-- land (ferry/ingest/land.py): the file, its columns, rows, phones and file-level issues
CREATE TABLE IF NOT EXISTS raw.runs (
    run_id VARCHAR, tenant VARCHAR, started_at TIMESTAMPTZ, file_name VARCHAR, file_path VARCHAR,
    sha256 VARCHAR, size_bytes BIGINT, format VARCHAR, encoding VARCHAR, delimiter VARCHAR,
    sheet VARCHAR, header_row BIGINT, source_system VARCHAR, options VARCHAR);
-- one row: the run dbt transforms now (to be replaced by run-scoped invocations)
CREATE TABLE IF NOT EXISTS raw.current_run (run_id VARCHAR);
CREATE TABLE IF NOT EXISTS raw.columns (
    run_id VARCHAR, column_index INTEGER, header VARCHAR, header_key VARCHAR, field VARCHAR,
    mapped_by VARCHAR, is_duplicate BOOLEAN);
-- why each column maps as it does (docs/CONTRACT.md §2): 0-1, and the reason in words
ALTER TABLE raw.columns ADD COLUMN IF NOT EXISTS confidence DOUBLE;
ALTER TABLE raw.columns ADD COLUMN IF NOT EXISTS reason VARCHAR;
ALTER TABLE raw.columns ADD COLUMN IF NOT EXISTS warning VARCHAR;
CREATE TABLE IF NOT EXISTS raw.rows (run_id VARCHAR, row_number BIGINT, cells VARCHAR[]);
CREATE TABLE IF NOT EXISTS raw.phone_numbers (run_id VARCHAR, phone_raw VARCHAR, phone_e164 VARCHAR);
CREATE TABLE IF NOT EXISTS raw.file_issues (
    run_id VARCHAR, row_number BIGINT, column_name VARCHAR, value VARCHAR, severity VARCHAR,
    code VARCHAR, message VARCHAR);

-- prepare (ferry/ingest/card_templates.py): the card templates in force for the run
CREATE TABLE IF NOT EXISTS raw.card_templates (
    run_id VARCHAR, template VARCHAR, type VARCHAR, first_visit_reward DECIMAL(20, 4),
    tier VARCHAR, min_spend DECIMAL(20, 4), position INTEGER, kind VARCHAR);
-- warehouses from before `kind` (the balance kind of the card type) was stored
ALTER TABLE raw.card_templates ADD COLUMN IF NOT EXISTS kind VARCHAR;

-- prepare (ferry/target/snapshot.py): what the target already holds, read before transform
CREATE TABLE IF NOT EXISTS raw.target_logins (run_id VARCHAR, login_key VARCHAR, email_key VARCHAR);
CREATE TABLE IF NOT EXISTS raw.target_accounts (run_id VARCHAR, email_key VARCHAR);

-- report (ferry/report/summary.py): how each run ended, with its summary
CREATE TABLE IF NOT EXISTS raw.run_results (
    run_id VARCHAR, tenant VARCHAR, status VARCHAR, finished_at TIMESTAMP, summary JSON);

-- transform (ferry/transform/dbt.py): the dbt project fingerprint the warehouse was built with
CREATE TABLE IF NOT EXISTS raw.dbt_state (fingerprint VARCHAR, built_at TIMESTAMP);
