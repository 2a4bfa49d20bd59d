-- Decides each row's fate (CONTRACT §4): rejected (any error), duplicate (identical to an
-- earlier kept row), merged (same e-mail and name as an earlier row: balances add up) or
-- valid (the first row of a client). Rows with a field error take no part in duplicates.
with

rows as (
    select * from {{ ref('int_client_rows__parsed') }}
),

field_errors as (
    select distinct row_number
    from {{ ref('int_client_rows__field_issues') }}
    where severity = 'error'
),

target_logins as (
    select * from {{ ref('stg_raw__target_logins') }}
),

candidates as (
    select rows.*
    from rows
    where row_number not in (select row_number from field_errors)
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

grouped as (
    select
        candidates.*,
        -- same e-mail, different names: nobody can tell whose balance it is
        email is not null
            and min(name_key) over (partition by email) <> max(name_key) over (partition by email)
            as is_email_shared,
        -- a login id twice in the file, or already another client's in the target
        candidates.login_key is not null and (
            login_groups.login_count > 1
            or not coalesce(list_contains(taken.emails, candidates.email), true)
        ) as is_login_duplicate,
        login_groups.login_rows,
        md5(to_json(struct_pack(
            full_name, first_name, last_name, salutation, email_lower, phone_raw, postal_code,
            birth_date, birth_date_raw, newsletter_consent, entries_value, credits_value,
            card_balance_value, login_key, password_hash, tags, external_id
        ))) as fingerprint
    from candidates
    left join login_groups using (login_key)
    left join (
        -- the e-mails of the target clients that already hold each login id
        select login_key, list(distinct email_key) as emails
        from target_logins
        group by login_key
    ) as taken
        on taken.login_key = candidates.login_key
),

kept as (
    select
        grouped.*,
        not is_email_shared and not is_login_duplicate as is_ok,
        row_number() over (
            partition by (not is_email_shared and not is_login_duplicate), fingerprint
            order by row_number
        ) as fingerprint_rank,
        min(row_number) over (partition by fingerprint) as first_identical_row
    from grouped
),

clients as (
    select
        kept.*,
        case
            when fingerprint_rank = 1 and email is not null
                then min(row_number) over (partition by is_ok, fingerprint_rank = 1, email)
            else row_number
        end as client_key_candidate
    from kept
),

resolved as (
    select
        rows.*,
        case
            when rows.row_number in (select row_number from field_errors) then 'rejected'
            when clients.is_email_shared or clients.is_login_duplicate then 'rejected'
            when clients.fingerprint_rank > 1 then 'duplicate'
            when clients.client_key_candidate <> rows.row_number then 'merged'
            else 'valid'
        end as status,
        case when clients.is_ok then
            case when clients.fingerprint_rank > 1 then clients.first_identical_row
                 else clients.client_key_candidate end
        end as client_key,
        coalesce(clients.is_email_shared, false) as is_email_shared,
        coalesce(clients.is_login_duplicate, false) as is_login_duplicate,
        clients.login_rows,
        clients.first_identical_row
    from rows
    left join clients using (row_number)
)

select * from resolved
