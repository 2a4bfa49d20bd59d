-- What each client holds: one row per client, balance kind and card template, the amount
-- summed over the client's rows (docs/CONTRACT.md §5, §6). A kind appears for every client
-- when the file has its column, so a corrected file can also set a balance back to zero.
-- The field kinds (entries, credits) come from var('field_balance_kinds'), what the card
-- does with its balance from seeds/card_types.csv.
with

rows as (
    select parsed.*, resolved.* exclude (row_number)
    from {{ ref('int_client_rows__parsed') }} as parsed
    inner join {{ ref('int_client_rows__resolved') }} as resolved using (row_number)
    where status in ('valid', 'merged')
),

mapped as (
    -- (sqlfluff misplaces the indent of a loop that opens a select list)
    -- noqa: disable=LT02
    select
        {%- for kind in var('field_balance_kinds') %}
        count(*) filter (where field = '{{ kind }}' and is_primary) > 0 as has_{{ kind }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('stg_raw__columns') }}
    -- noqa: enable=LT02
),

templates as (
    select * from {{ ref('int_card_template__in_force') }}
),

card as (
    select distinct template, kind, first_visit_reward, balance_source, tier_rule
    from templates
),

tiers as (
    select tier, min_spend, position from templates where tier is not null
),

per_client as (
    select
        client_key,
        {%- for kind in var('field_balance_kinds') %}
        sum(coalesce({{ kind }}_value, 0)) as {{ kind }},
        {%- endfor %}
        sum(coalesce(card_balance_value, 0)) as card_balance
    from rows
    group by client_key
),

unioned as (
    {%- for kind in var('field_balance_kinds') %}
    select
        client_key,
        '{{ kind }}' as kind,
        null::varchar as card_template,
        {{ kind }} as amount,
        null::varchar as tier_rule
    from per_client where (select has_{{ kind }} from mapped)

    union all
    {%- endfor %}
    select
        per_client.client_key,
        card.kind,
        card.template,
        case card.balance_source
            when 'zero' then 0
            when 'first_visit_reward' then card.first_visit_reward
            else per_client.card_balance
        end,
        card.tier_rule
    from per_client
    cross join card
),

with_tiers as (
    select
        unioned.*,
        case
            when tier_rule = 'first' then (select tier from tiers order by position limit 1)
            when tier_rule = 'highest_reached' then (
                select tiers.tier from tiers
                where tiers.min_spend <= unioned.amount
                order by tiers.min_spend desc, tiers.position desc
                limit 1
            )
        end as tier
    from unioned
)

select
    client_key,
    kind,
    card_template,
    amount::decimal(20, 4) as amount,
    tier
from with_tiers
