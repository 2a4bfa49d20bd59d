-- The balances to load: one row per client, kind and card template (docs/CONTRACT.md §5, §6).
with

balances as (
    select * from {{ ref('int_client_balances') }}
),

final as (
    select
        (select run_id from {{ ref('stg_raw__runs') }}) as run_id,
        client_key,
        kind,
        card_template,
        amount,
        tier
    from balances
)

select * from final
