-- Issues land found in the current run's file (duplicate columns, surplus cells).
with

source as (
    select file_issues.*
    from {{ source('raw', 'file_issues') }} as file_issues
    inner join {{ source('raw', 'current_run') }} using (run_id)
),

renamed as (
    select
        row_number,
        column_name,
        value,
        severity,
        code,
        message
    from source
)

select * from renamed
