-- Every landed row with each field parsed by the rules of docs/CONTRACT.md §3. Nothing is
-- decided here about keeping or rejecting a row; the flags say what is wrong.
with

run as (
    select * from {{ ref('stg_raw__runs') }}
),

card_template as (
    select distinct template, type, first_visit_reward, balance_source, whole_number
    from {{ ref('int_card_template__in_force') }}
),

cells as (
    select * from {{ ref('stg_raw__client_cells') }}
),

consent_values as (
    select lower(value) as value, consent from {{ ref('consent_values') }}
),

trimmed as (
    select
        row_number,
        -- text
        ferry_collapse(full_name_cell) as full_name_in,
        ferry_collapse(first_name_cell) as first_name_in,
        ferry_collapse(last_name_cell) as last_name_in,
        -- a surname prefix kept apart (Dutch tussenvoegsel: 'van der'), joined below
        ferry_collapse(surname_prefix_cell) as surname_prefix,
        ferry_collapse(salutation_cell) as salutation,
        ferry_trim(email_cell) as email_raw,
        -- ids, phones, postal codes and amounts lose a leading ' text marker
        ferry_untick(phone_cell) as phone_raw,
        ferry_untick(postal_code_cell) as postal_code,
        ferry_trim(birth_date_cell) as birth_date_raw,
        ferry_trim(consent_cell) as consent_raw,
        ferry_trim(login_id_cell) as login_id,
        ferry_trim(password_cell) as password_hash,
        ferry_trim(tags_cell) as tags_raw,
        ferry_untick(external_id_cell) as external_id,
        -- numerics, still text
        ferry_untick(entries_cell) as entries_raw,
        ferry_untick(credits_cell) as credits_raw,
        ferry_untick(card_balance_cell) as card_balance_raw
    from cells
),

surnames as (
    -- the surname with its prefix: 'van der' + 'Berg' is 'van der Berg'
    select
        * exclude (last_name_in),
        case
            when last_name_in is not null
                then ferry_collapse(concat_ws(' ', surname_prefix, last_name_in))
        end as last_name_in
    from trimmed
),

names as (
    select
        *,
        coalesce(
            full_name_in,
            ferry_collapse(concat_ws(' ', first_name_in, last_name_in))
        ) as full_name,
        coalesce(
            first_name_in,
            case
                when strpos(full_name_in, ' ') > 0
                    then regexp_extract(full_name_in, '^(.*) [^ ]+$', 1)
                else full_name_in
            end
        ) as first_name,
        coalesce(
            last_name_in,
            case
                when first_name_in is null and strpos(full_name_in, ' ') > 0
                    then regexp_extract(full_name_in, ' ([^ ]+)$', 1)
            end
        ) as last_name
    from surnames
),

number_texts as (
    -- each amount's text with separators and currency removed, computed once
    select
        names.*,
        {%- for field in var('balance_fields') %}
        case
            when not regexp_full_match({{ field }}_raw, '[0-9]{1,15}')
                then ferry_number_text({{ field }}_raw)
        end as {{ field }}_text,
        {%- endfor %}
        ferry_parse_date_any(birth_date_raw, (select date_order from run)) as birth_date_any
    from names
),

parsed as (
    select
        number_texts.*,
        -- e-mail
        lower(email_raw) as email_lower,
        ferry_email_is_valid(lower(email_raw)) as email_is_valid,
        -- phone
        phone_numbers.phone_e164 as phone,
        -- consent
        consent_values.consent as consent_parsed,
        -- birth date
        ferry_birth_date(birth_date_any) as birth_date,
        -- amounts: plain digits directly, anything else through the separator rules
        {%- for field in var('balance_fields') %}
        case
            when {{ field }}_text is null then cast({{ field }}_raw as decimal(20, 4))
            else ferry_number_value(ferry_text_unsigned({{ field }}_text))
        end as {{ field }}_value,
        coalesce(ferry_text_is_negative({{ field }}_text), false) as {{ field }}_negative,
        {%- endfor %}
        -- tags: the file's (split on , ; |) and the run's --tag values
        list_sort(list_distinct(list_concat(
            coalesce(list_filter(
                list_transform(regexp_split_to_array(tags_raw, '[,;|]'), lambda t: ferry_trim(t)),
                lambda t: t is not null
            ), []::varchar[]),
            (select run_tags from run)
        ))) as tags
    from number_texts
    left join {{ ref('stg_raw__phone_numbers') }} as phone_numbers
        on number_texts.phone_raw = phone_numbers.phone_raw
    left join consent_values
        on consent_values.value = lower(number_texts.consent_raw)
),

typed as (
    select
        parsed.*,
        (select type from card_template) as card_type,
        (select template from card_template) as card_template,
        -- what the card type does with the balance column (seeds/card_types.csv); without
        -- a card template the column is read as a plain number
        coalesce((select balance_source from card_template), 'file') as card_balance_source,
        coalesce((select whole_number from card_template), false) as card_balance_must_be_whole,
        -- whole numbers: entries, stamps and visits
        entries_value is not null and entries_value = floor(entries_value) as entries_is_whole,
        card_balance_value is not null and card_balance_value = floor(card_balance_value)
            as card_balance_is_whole
    from parsed
),

flagged as (
    select
        typed.*,
        -- a balance the client can spend; some card types take no balance from the file,
        -- but a coupon gives every client the template's first-visit reward: that is a
        -- balance too, so it needs an e-mail to be claimed (docs/CONTRACT.md §3, §5)
        (
            (coalesce(entries_value, 0) > 0 and not entries_negative)
            or (coalesce(credits_value, 0) > 0 and not credits_negative)
            or (
                coalesce(card_balance_value, 0) > 0
                and not card_balance_negative
                and card_balance_source = 'file'
            )
            or coalesce(
                card_balance_source = 'first_visit_reward'
                and (select first_visit_reward from card_template) > 0,
                false
            )
        ) as has_positive_balance,
        login_id is not null as has_login
    from typed
),

final as (
    select
        flagged.*,
        case when email_is_valid then email_lower end as email,
        coalesce(consent_parsed, false) as newsletter_consent,
        lower(login_id) as login_key,
        lower(full_name) as name_key,
        extra.extra as extra_cells
    from flagged
    left join {{ ref('int_client_rows__extra') }} as extra using (row_number)
)

-- the working columns (names as written, number texts) are not written: no model reads them
select
    * exclude (
        full_name_in, first_name_in, last_name_in, surname_prefix, tags_raw, entries_text, credits_text,
        card_balance_text, birth_date_any
    )
from final
