-- For analysts: how many errors and warnings of each code every run had.
with

issues as (
    select * from {{ ref('issues') }}
),

runs as (
    select run_id, tenant from {{ ref('stg_raw__all_runs') }}
),

final as (
    select
        issues.run_id,
        runs.tenant,
        issues.code,
        issues.severity,
        count(*) as issues,
        min(issues.row_number) as first_row
    from issues
    left join runs using (run_id)
    group by issues.run_id, runs.tenant, issues.code, issues.severity
)

select * from final
