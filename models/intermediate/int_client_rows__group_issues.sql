-- Problems that only show across rows (docs/CONTRACT.md §4) or against the target (§6).
with

rows as (
    select parsed.*, resolved.* exclude (row_number)
    from {{ ref('int_client_rows__parsed') }} as parsed
    inner join {{ ref('int_client_rows__resolved') }} as resolved using (row_number)
),

labels as (
    select
        coalesce(max(column_label) filter (where field = 'email' and is_primary), 'email') as email_label,
        coalesce(max(column_label) filter (where field = 'login_id' and is_primary), 'login_id') as login_label
    from {{ ref('stg_raw__columns') }}
),

target_accounts as (
    select * from {{ ref('stg_raw__target_accounts') }}
),

target_logins as (
    -- the tenant's clients that already hold a login: a rerun finds its own accounts
    select * from {{ ref('stg_raw__target_logins') }}
),

issues as (
    select
        row_number, (select email_label from labels) as column_name, email_raw as value,
        'error' as severity, 'email_shared' as code,
        '''' || ferry_show(email_raw) || ''' is used by clients with different names (rows '
        || string_agg(row_number::varchar, ', ')
            over (
                partition by email order by row_number
                rows between unbounded preceding and unbounded following
            )
        || '): give each client their own address' as message
    from rows where is_email_shared

    union all
    select
        row_number, (select login_label from labels), login_id, 'error', 'login_duplicate',
        case
            when login_rows like '%,%'
                then
                    'rows ' || regexp_replace(login_rows, ', ([0-9]+)$', ' and \1')
                    || ' share login id ' || ferry_show(login_id)
            else
                'login id ' || ferry_show(login_id)
                || ' already belongs to another client of this tenant in the target'
        end || ': each login id must be unique, the load is blocked'
    from rows where is_login_duplicate

    union all
    select
        row_number, null, null, 'warning', 'duplicate_row',
        'row ' || row_number || ' repeats row ' || first_identical_row || ' exactly: it adds nothing'
    from rows where status = 'duplicate'

    union all
    select
        row_number, (select login_label from labels), login_id, 'warning', 'login_account_exists',
        ''''
        || ferry_show(email)
        || ''' already has an account: the client is linked to it and the account is left unchanged'
    from rows
    where
        status in ('valid', 'merged') and login_id is not null
        and email in (select email_key from target_accounts)
        -- not when this client already holds this login (an earlier run linked it)
        and not exists (
            select 1 from target_logins
            where target_logins.login_key = rows.login_key and target_logins.email_key = rows.email
        )
)

select * from issues
