-- One row per landed row of the current run, each canonical field as the raw text of
-- the column mapped to it (NULL when no column maps to the field). The column index
-- comes from a scalar subquery, so no header text ever becomes part of the SQL.
with

primary_columns as (
    select field, column_index
    from {{ ref('stg_raw__columns') }}
    where is_primary
),

source as (
    select rows.*
    from {{ source('raw', 'rows') }} as rows
    inner join {{ source('raw', 'current_run') }} using (run_id)
),

renamed as (
    select
        run_id,
        row_number,
        {%- for field in var('canonical_fields') %}
        cells[(select column_index from primary_columns where field = '{{ field }}')] as {{ field }}_cell,
        {%- endfor %}
        cells
    from source
)

select * from renamed
