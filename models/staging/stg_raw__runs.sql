-- The run being transformed, with the options the rules need as typed columns.
with

source as (
    select runs.*
    from {{ source('raw', 'runs') }} as runs
    inner join {{ source('raw', 'current_run') }} using (run_id)
),

renamed as (
    select
        -- ids
        run_id,
        tenant,
        -- file
        file_name,
        sha256,
        format,
        source_system,
        -- options
        coalesce(json_extract_string(options, '$.date_order'), 'dmy') as date_order,
        json_extract_string(options, '$.card_template') as card_template,
        coalesce(cast(json_extract(options, '$.require_password_change') as boolean), false)
            as require_password_change,
        coalesce(cast(json_extract(options, '$.replace_existing') as boolean), false)
            as replace_existing,
        coalesce(cast(json_extract(options, '$.tags') as varchar[]), cast([] as varchar[])) as run_tags,
        coalesce(cast(json_extract(options, '$.max_reject_rate') as double), 0) as max_reject_rate
    from source
)

select * from renamed
