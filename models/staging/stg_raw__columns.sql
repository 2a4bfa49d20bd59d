-- The columns of the current run's file and the field each one feeds.
with

source as (
    select columns.*
    from {{ source('raw', 'columns') }} as columns
    inner join {{ source('raw', 'current_run') }} using (run_id)
),

renamed as (
    select
        run_id,
        column_index,
        header,
        field,
        coalesce(is_duplicate, false) as is_duplicate,
        -- the name a user recognises in messages and in `extra`
        coalesce(header, 'column_' || column_index) as column_label,
        -- the column whose value a field takes: the first one mapped to it
        field is not null and not coalesce(is_duplicate, false) as is_primary
    from source
)

select * from renamed
