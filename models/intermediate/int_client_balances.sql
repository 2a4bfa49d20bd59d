-- What each client holds: one row per client, balance kind and card template, the amount
-- summed over the client's rows (CONTRACT §5, §6). A kind appears for every client when
-- the file has its column, so a corrected file can also set a balance back to zero.
with

rows as (
    select parsed.*, resolved.* exclude (row_number)
    from {{ ref('int_client_rows__parsed') }} as parsed
    inner join {{ ref('int_client_rows__resolved') }} as resolved using (row_number)
    where status in ('valid', 'merged')
),

mapped as (
    select
        count(*) filter (where field = 'entries' and is_primary) > 0 as has_entries,
        count(*) filter (where field = 'credits' and is_primary) > 0 as has_credits
    from {{ ref('stg_raw__columns') }}
),

templates as (
    select * from {{ ref('stg_raw__card_templates') }}
    where template = (select card_template from {{ ref('stg_raw__runs') }})
),

card as (
    select distinct template, type, first_visit_reward, kind
    from templates
),

tiers as (
    select tier, min_spend, position from templates where tier is not null
),

per_client as (
    select
        client_key,
        sum(coalesce(entries_value, 0)) as entries,
        sum(coalesce(credits_value, 0)) as credits,
        sum(coalesce(card_balance_value, 0)) as card_balance
    from rows
    group by client_key
),

unioned as (
    select client_key, 'entries' as kind, null::varchar as card_template, entries as amount
    from per_client where (select has_entries from mapped)

    union all
    select client_key, 'credits', null, credits
    from per_client where (select has_credits from mapped)

    union all
    select
        per_client.client_key,
        card.kind,
        card.template,
        case card.type
            when 'membership' then 0
            when 'coupon' then card.first_visit_reward
            else per_client.card_balance
        end
    from per_client
    cross join card
),

with_tiers as (
    select
        unioned.*,
        case
            when kind = 'membership' then (select tier from tiers order by position limit 1)
            when kind = 'discount_spend' then (
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
    cast(amount as decimal(20, 4)) as amount,
    tier
from with_tiers
