{%- set fingerprint = ["full_name", "first_name", "last_name", "salutation", "email_lower",
    "phone_raw", "postal_code", "birth_date", "birth_date_raw", "newsletter_consent",
    "entries_value", "credits_value", "card_balance_value", "login_key", "password_hash",
    "tags", "external_id"] -%}
-- Decides each row's fate (docs/CONTRACT.md §4): rejected (any error), duplicate (identical to an
-- earlier kept row), merged (same e-mail and name as an earlier row: balances add up) or
-- valid (the first row of a client). Rows with a field error take no part in duplicates.
-- Groups are found with aggregates and joins, not window sorts: 1M rows stay fast.
with

rows as not materialized (
    -- read twice, never held: DuckDB would otherwise materialise all of the parsed table
    -- (a big file spills to disk)
    select * from {{ ref('int_client_rows__parsed') }}
),

field_errors as (
    select row_number
    from {{ ref('int_client_rows__field_issues') }}
    where severity = 'error'
    union
    -- rows land rejected while reading (a shifted row in a file with passwords)
    select row_number
    from {{ ref('stg_raw__file_issues') }}
    where severity = 'error' and row_number is not null
),

candidates as not materialized (
    -- read three times (each for a few columns), never held: see `rows`
    select
        rows.*,
        -- identical rows share this key: a hash of every canonical field, plus the e-mail
        -- and name themselves so that a hash collision alone can never merge two clients
        hash({{ fingerprint | join(', ') }}) as fingerprint
    from rows
    where row_number not in (select row_number from field_errors)
),

emails as (
    -- same e-mail, different names: nobody can tell whose balance it is
    select email, min(name_key) <> max(name_key) as is_email_shared
    from candidates
    where email is not null
    group by email
),

login_groups as (
    -- which rows share each login id (aggregated once per login, not per row)
    select
        login_key,
        count(*) as login_count,
        string_agg(row_number::varchar, ', ' order by row_number) as login_rows
    from candidates
    where login_key is not null
    group by login_key
),

taken as (
    -- the e-mails of the target clients that already hold each login id; with
    -- --replace-existing those clients are deleted in the load's transaction, so their
    -- login ids are free again
    select login_key, list(distinct email_key) as emails
    from {{ ref('stg_raw__target_logins') }}
    where not (select replace_existing from {{ ref('stg_raw__runs') }})
    group by login_key
),

grouped as (
    select
        candidates.*,
        coalesce(emails.is_email_shared, false) as is_email_shared,
        -- a login id twice in the file, or already another client's in the target
        candidates.login_key is not null and (
            login_groups.login_count > 1
            or not coalesce(list_contains(taken.emails, candidates.email), true)
        ) as is_login_duplicate,
        login_groups.login_rows
    from candidates
    left join emails on candidates.email = emails.email
    left join login_groups on candidates.login_key = login_groups.login_key
    left join taken on candidates.login_key = taken.login_key
),

ok as (
    select * from grouped where not is_email_shared and not is_login_duplicate
),

identical as (
    select fingerprint, email_lower, full_name, min(row_number) as first_identical_row
    from ok
    group by fingerprint, email_lower, full_name
),

firsts as (
    -- the rows that are not exact repeats
    select ok.*, identical.first_identical_row
    from ok
    inner join identical
        on
            ok.fingerprint = identical.fingerprint
            and ok.email_lower is not distinct from identical.email_lower
            and ok.full_name is not distinct from identical.full_name
),

client_by_email as (
    select email, min(row_number) as client_key
    from firsts
    where row_number = first_identical_row and email is not null
    group by email
),

decided as (
    select
        firsts.row_number,
        firsts.first_identical_row,
        case
            when firsts.row_number <> firsts.first_identical_row then 'duplicate'
            when client_by_email.client_key <> firsts.row_number then 'merged'
            else 'valid'
        end as status,
        case
            when firsts.row_number <> firsts.first_identical_row then null
            else coalesce(client_by_email.client_key, firsts.row_number)
        end as client_key
    from firsts
    left join client_by_email on firsts.email = client_by_email.email
),

resolved as (
    -- narrow on purpose: models that need the parsed fields join int_client_rows__parsed
    select
        rows.row_number,
        coalesce(decided.status, 'rejected') as status,
        decided.client_key,
        coalesce(grouped.is_email_shared, false) as is_email_shared,
        coalesce(grouped.is_login_duplicate, false) as is_login_duplicate,
        grouped.login_rows,
        decided.first_identical_row
    from rows
    left join grouped using (row_number)
    left join decided using (row_number)
)

select * from resolved
