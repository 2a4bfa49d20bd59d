-- One row per problem with a single field of a single row (docs/CONTRACT.md §3). Errors reject
-- the row; warnings let it load with the bad value emptied (and kept in phone_raw/extra).
with

rows as (
    select * from {{ ref('int_client_rows__parsed') }}
),

labels as (
    -- the header a user sees for each field, for the `column` of rejects.csv
    -- (sqlfluff misplaces the indent of a loop that opens a select list)
    -- noqa: disable=LT02
    select
        {%- for field in var('canonical_fields') %}
        coalesce(max(column_label) filter (where field = '{{ field }}' and is_primary), '{{ field }}')
            as {{ field }}_label{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('stg_raw__columns') }}
    -- noqa: enable=LT02
),

issues as (

    select
        row_number,
        (select coalesce(nullif(full_name_label, 'full_name'), first_name_label) from labels) as column_name,
        null as value, 'error' as severity, 'name_missing' as code,
        'the client has no name: fill in the name (or first and last name)' as message
    from rows where full_name is null

    union all
    select
        row_number, (select email_label from labels), null, 'error', 'email_required',
        'a client with ' || case when has_login then 'a login' else 'a balance' end
        || ' needs an e-mail address to claim it: add the e-mail'
    from rows where email_raw is null and (has_positive_balance or has_login)

    union all
    select
        row_number, (select email_label from labels), email_raw,
        case when has_positive_balance or has_login then 'error' else 'warning' end,
        'email_invalid',
        '''' || ferry_show(email_raw) || ''' is not a valid e-mail address'
        || case
            when has_positive_balance or has_login
                then
                    ': the row holds '
                    || case when has_login then 'a login' else 'a balance' end
                    || ', so it cannot load until the address is fixed'
            else ': the client loads without an e-mail and gets no invitation'
        end
    from rows where email_raw is not null and not email_is_valid

    union all
    select
        row_number, (select login_id_label from labels), left(login_id, 40) || '…', 'error', 'login_id_too_long',
        'the login id has ' || length(login_id) || ' characters; a login id may have at most '
        || {{ var('login_id_max_length') }} || ': shorten it or leave it out (the client is then invited)'
    from rows where length(login_id) > {{ var('login_id_max_length') }}

    union all
    select
        row_number, (select phone_label from labels), phone_raw, 'warning', 'phone_invalid',
        ''''
        || ferry_show(phone_raw)
        || ''' is not a valid phone number: the client loads without a phone (kept in phone_raw)'
    from rows where phone_raw is not null and phone is null

    union all
    select
        row_number, (select consent_label from labels), consent_raw, 'warning', 'consent_unknown',
        '''' || ferry_show(consent_raw) || ''' is not a yes/no answer: newsletter consent set to no'
    from rows where consent_raw is not null and consent_parsed is null

    union all
    select
        row_number, (select birth_date_label from labels), birth_date_raw, 'warning', 'date_invalid',
        '''' || ferry_show(birth_date_raw) || ''' is not a birth date: the value is kept in extra'
    from rows where birth_date_raw is not null and birth_date is null

    union all
    select
        row_number, (select entries_label from labels), entries_raw, 'error', 'entries_invalid',
        '''' || ferry_show(entries_raw) || ''''
        || case
            when entries_value >= {{ var('amount_limit') }} then ' is too large for an amount'
            else ' is not a whole number of entries'
        end
    from rows
    where
        entries_raw is not null
        -- a sign without a number ('-xx', '-') is invalid; a negative number is balance_negative
        and (
            entries_value is null
            or entries_value >= {{ var('amount_limit') }}
            or (not coalesce(entries_negative, false) and not entries_is_whole)
        )

    union all
    select
        row_number, (select credits_label from labels), credits_raw, 'error', 'credits_invalid',
        '''' || ferry_show(credits_raw) || ''''
        || case
            when credits_value >= {{ var('amount_limit') }} then ' is too large for an amount'
            else ' is not a number of credits'
        end
    from rows
    where
        credits_raw is not null
        and (credits_value is null or credits_value >= {{ var('amount_limit') }})

    union all
    select
        row_number, (select card_balance_label from labels), card_balance_raw, 'error', 'balance_invalid',
        '''' || ferry_show(card_balance_raw) || ''''
        || case
            when card_balance_value >= {{ var('amount_limit') }} then ' is too large for an amount'
            when card_balance_must_be_whole then ' is not a valid whole number for the '
            else ' is not a valid number for the '
        end
        || case
            when card_balance_value >= {{ var('amount_limit') }} then ''
            else coalesce(card_template, '') || ' card'
        end
    from rows
    where
        card_balance_raw is not null
        and card_balance_source = 'file'
        and (
            card_balance_value is null
            or card_balance_value >= {{ var('amount_limit') }}
            or (
                not coalesce(card_balance_negative, false)
                and card_balance_must_be_whole and not card_balance_is_whole
            )
        )

    union all
    select
        row_number, (select password_label from labels), null, 'warning', 'password_ignored',
        'a password without a login id cannot be used to log in: it was not imported'
    from rows where password_hash is not null and login_id is null

    union all
    select
        row_number, (select card_balance_label from labels), card_balance_raw, 'warning', 'balance_ignored',
        'a ' || card_type || ' card does not take a balance from the file: '
        || case
            when card_balance_source = 'first_visit_reward' then 'the client gets the template''s first-visit reward'
            else 'the client starts in the first tier'
        end
    from rows where card_balance_raw is not null and card_balance_source <> 'file'

    union all
    select
        row_number, label, raw, 'error', 'balance_negative',
        '''' || ferry_show(raw) || ''' is negative: a balance cannot be below zero'
    from (
        select row_number, (select entries_label from labels) as label, entries_raw as raw
        from rows where entries_negative and entries_value is not null
        union all
        select row_number, (select credits_label from labels), credits_raw
        from rows where credits_negative and credits_value is not null
        union all
        select row_number, (select card_balance_label from labels), card_balance_raw
        from rows
        where
            card_balance_negative
            and card_balance_value is not null
            and card_balance_source = 'file'
    ) as negatives
)

select * from issues
