-- The loyalty card templates in force for the current run, one row per tier
-- (a template without tiers has one row with tier NULL).
with

source as (
    select card_templates.*
    from {{ source('raw', 'card_templates') }} as card_templates
    inner join {{ source('raw', 'current_run') }} using (run_id)
),

renamed as (
    select
        template,
        type,
        kind,
        cast(first_visit_reward as decimal(20, 4)) as first_visit_reward,
        tier,
        cast(min_spend as decimal(20, 4)) as min_spend,
        position
    from source
)

select * from renamed
