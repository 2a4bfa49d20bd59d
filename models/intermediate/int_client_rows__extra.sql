-- Cells of columns that map to no field (or lose to an earlier column for the same
-- field) are kept, never dropped: one JSON object per row, keyed by the file's header.
with

extra_columns as (
    select
        column_index,
        -- repeated headers are told apart by their position, never merged
        case
            when count(*) over (partition by column_label) > 1
                then column_label || ' (column ' || column_index || ')'
            else column_label
        end as extra_key
    from {{ ref('stg_raw__columns') }}
    where not is_primary
),

cells as (
    select
        rows.row_number,
        extra_columns.extra_key,
        ferry_trim(rows.cells[extra_columns.column_index]) as value
    from {{ ref('stg_raw__client_cells') }} as rows
    cross join extra_columns
),

aggregated as (
    select
        row_number,
        json_group_object(extra_key, value) as extra
    from cells
    where value is not null
    group by row_number
)

select * from aggregated
