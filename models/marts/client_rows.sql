-- Every landed row with its fate and parsed fields: the audit trail from a target client
-- back to file, row and column (joins raw.rows on run_id + row_number).
with

rows as (
    select parsed.*, resolved.* exclude (row_number)
    from {{ ref('int_client_rows__parsed') }} as parsed
    inner join {{ ref('int_client_rows__resolved') }} as resolved using (row_number)
),

run as (
    select run_id from {{ ref('stg_raw__runs') }}
),

final as (
    select
        -- ids
        (select run_id from run) as run_id,
        row_number,
        status,
        case when status in ('valid', 'merged') then client_key end as client_key,
        -- text
        full_name,
        first_name,
        last_name,
        salutation,
        email,
        email_raw,
        phone,
        phone_raw,
        postal_code,
        birth_date,
        birth_date_raw,
        newsletter_consent,
        consent_raw,
        login_id,
        external_id,
        tags,
        -- numerics
        entries_value as entries,
        credits_value as credits,
        card_balance_value as card_balance,
        has_positive_balance
    from rows
)

select * from final
