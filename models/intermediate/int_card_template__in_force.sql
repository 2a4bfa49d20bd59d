-- The run's card template (--card-template), one row per tier, with what its card type
-- does with the balance column (seeds/card_types.csv, docs/CONTRACT.md §5). No rows when
-- the run has no card template. A view: it reads the current run whenever it is queried,
-- so nothing is rebuilt per run.
{{ config(materialized='view') }}

with

run as (
    select card_template from {{ ref('stg_raw__runs') }}
),

templates as (
    select * from {{ ref('stg_raw__card_templates') }}
    where template = (select card_template from run)
),

card_types as (
    select * from {{ ref('card_types') }}
),

joined as (
    select
        templates.template,
        templates.type,
        card_types.kind,
        templates.first_visit_reward,
        templates.tier,
        templates.min_spend,
        templates.position,
        card_types.balance_source,
        card_types.whole_number,
        card_types.tier_rule
    from templates
    left join card_types using (type)
)

select * from joined
