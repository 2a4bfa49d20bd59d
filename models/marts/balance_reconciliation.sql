-- Per balance kind: what the kept source rows hold, computed straight from the parsed
-- rows, against what marts.balances would load. The gate requires them to be equal.
with

run as (
    select * from {{ ref('stg_raw__runs') }}
),

rows as (
    select * from {{ ref('client_rows') }}
    where run_id = (select run_id from run) and status in ('valid', 'merged')
),

loaded as (
    select kind, sum(amount) as loaded_total, count(*) as loaded_rows
    from {{ ref('balances') }}
    where run_id = (select run_id from run)
    group by kind
),

card as (
    -- what the run's card type does with the balance column (seeds/card_types.csv)
    select distinct template, kind, first_visit_reward, balance_source
    from {{ ref('int_card_template__in_force') }}
),

source as (
    {%- for kind in var('field_balance_kinds') %}
    select '{{ kind }}' as kind, sum(coalesce({{ kind }}, 0)) as source_total from rows
    union all
    {%- endfor %}
    select
        kind,
        case balance_source
            when 'zero' then 0
            when 'first_visit_reward' then first_visit_reward * (select count(distinct client_key) from rows)
            else (select sum(coalesce(card_balance, 0)) from rows)
        end
    from card
),

final as (
    select
        (select run_id from run) as run_id,
        source.kind,
        cast(coalesce(source.source_total, 0) as decimal(20, 4)) as source_total,
        cast(coalesce(loaded.loaded_total, 0) as decimal(20, 4)) as loaded_total,
        coalesce(loaded.loaded_rows, 0) as loaded_rows
    from source
    left join loaded using (kind)
)

select * from final
