-- For analysts: each tenant's clients as its latest loaded run left them.
with

loaded_runs as (
    select tenant, run_id, finished_at
    from {{ ref('stg_raw__run_results') }}
    where status = 'loaded'
),

latest as (
    select tenant, arg_max(run_id, finished_at) as run_id
    from loaded_runs
    group by tenant
),

final as (
    select latest.tenant, clients.*
    from {{ ref('clients') }} as clients
    inner join latest using (run_id)
)

select * from final
