-- For analysts: how many errors and warnings of each code every run had.
with

issues as (
    select * from {{ ref('issues') }}
),

final as (
    select
        run_id,
        code,
        severity,
        count(*) as issues,
        min(row_number) as first_row
    from issues
    group by run_id, code, severity
)

select * from final
