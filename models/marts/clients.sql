-- The clients to load, one per client_key: the first row's values, gaps filled from the
-- client's later (merged) rows, tags united.
{%- set columns = ["full_name", "first_name", "last_name", "salutation", "email", "phone",
    "phone_raw", "postal_code", "birth_date", "login_id", "password_hash", "external_id",
    "extra_cells", "birth_date_raw"] %}
with

rows as not materialized (
    -- read three times, never held: materialised, 10M rows of it spilled gigabytes to disk
    select parsed.*, resolved.* exclude (row_number)
    from {{ ref('int_client_rows__parsed') }} as parsed
    inner join {{ ref('int_client_rows__resolved') }} as resolved using (row_number)
    where status in ('valid', 'merged')
),

run as (
    select * from {{ ref('stg_raw__runs') }}
),

balances as (
    select client_key, bool_or(amount > 0) as has_balance
    from {{ ref('int_client_balances') }}
    group by client_key
),

multi_keys as (
    -- clients with merged rows; almost every client has exactly one row
    select distinct client_key from rows where status = 'merged'
),

single as (
    -- one row: its values as they are (the aggregate below would give the same)
    select
        client_key,
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        newsletter_consent,
        birth_date is null and birth_date_raw is not null as has_bad_birth_date,
        tags,
        [row_number] as source_rows
    from rows
    where client_key not in (select client_key from multi_keys)
),

merged as (
    select
        client_key,
        {%- for column in columns %}
        arg_min({{ column }}, row_number) filter (where {{ column }} is not null) as {{ column }},
        {%- endfor %}
        arg_min(newsletter_consent, row_number) as newsletter_consent,
        bool_or(birth_date is null and birth_date_raw is not null) as has_bad_birth_date,
        list_sort(list_distinct(flatten(list(tags)))) as tags,
        list(row_number order by row_number) as source_rows
    from rows
    where client_key in (select client_key from multi_keys)
    group by client_key
),

aggregated as (
    select * from single
    union all by name
    select * from merged
),

plain_keyed as (
    select
        aggregated.*,
        case
            when email is not null then 'email:' || email
            when external_id is not null then 'external_id:' || external_id
            else
                'name:' || lower(full_name) || '|' || coalesce(phone, phone_raw, '')
                || '|' || coalesce(birth_date::varchar, '')
        end as plain_match_key
    from aggregated
),

keyed as not materialized (
    -- read three times (the key's groups, the numbers, the result), never held
    -- a key too long for a database index (a name of thousands of characters) is kept as
    -- its kind and a hash: the same on every target, and stable across runs
    select
        * exclude (plain_match_key),
        case
            when length(plain_match_key) <= 256 then plain_match_key
            else split_part(plain_match_key, ':', 1) || ':sha256:' || sha256(plain_match_key)
        end as base_match_key
    from plain_keyed
),

shared_keys as (
    -- two clients without e-mail or id that look the same are told apart by order
    select base_match_key from keyed group by base_match_key having count(*) > 1
),

numbered as (
    select
        client_key,
        row_number() over (partition by base_match_key order by client_key) as match_number
    from keyed
    where base_match_key in (select base_match_key from shared_keys)
),

final as (
    select
        -- ids
        (select run_id from run) as run_id,
        keyed.client_key,
        case
            when numbered.match_number > 1
                then keyed.base_match_key || '#' || numbered.match_number
            else keyed.base_match_key
        end as match_key,
        external_id,
        -- text
        full_name,
        first_name,
        last_name,
        salutation,
        email,
        phone,
        phone_raw,
        postal_code,
        birth_date,
        newsletter_consent,
        -- login
        login_id,
        -- a password is only kept with the login it belongs to
        case when login_id is not null then password_hash end as password_hash,
        login_id is not null and (select require_password_change from run) as must_change_password,
        -- json
        to_json(tags)::varchar as tags,
        case
            when has_bad_birth_date
                then json_merge_patch(coalesce(extra_cells, '{}'), json_object('birth_date', birth_date_raw))::varchar
            else coalesce(extra_cells, '{}')::varchar
        end as extra,
        source_rows,
        coalesce(balances.has_balance, false) as has_balance
    from keyed
    left join balances using (client_key)
    left join numbered using (client_key)
)

select * from final
