-- Every error and warning of the run, one row each: what rejects.csv lists and what
-- issue_counts counts. Errors reject their row; warnings do not.
with

file_issues as (
    select row_number, column_name, value, severity, code, message
    from {{ ref('stg_raw__file_issues') }}
),

field_issues as (
    select * from {{ ref('int_client_rows__field_issues') }}
),

group_issues as (
    select * from {{ ref('int_client_rows__group_issues') }}
),

unioned as (
    select * from file_issues
    union all
    select * from field_issues
    union all
    select * from group_issues
),

final as (
    select
        (select run_id from {{ ref('stg_raw__runs') }}) as run_id,
        row_number,
        column_name,
        value,
        severity,
        code,
        message
    from unioned
)

select * from final
