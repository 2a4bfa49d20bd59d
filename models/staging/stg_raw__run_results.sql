-- How each run ended (loaded, blocked, dry_run, failed), written by the report step.
with

source as (
    select * from {{ source('raw', 'run_results') }}
),

renamed as (
    select
        run_id,
        tenant,
        status,
        finished_at
    from source
)

select * from renamed
