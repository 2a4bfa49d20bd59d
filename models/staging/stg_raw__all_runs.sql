-- Every run the warehouse holds, for the analyst views (stg_raw__runs is only the run
-- being transformed).
with

source as (
    select * from {{ source('raw', 'runs') }}
),

renamed as (
    select
        -- ids
        run_id,
        tenant,
        started_at,
        -- file
        file_name,
        sha256,
        format,
        encoding
    from source
)

select * from renamed
