-- For analysts and auditors: one row per run with its outcome and row accounting.
with

results as (
    select * from {{ ref('stg_raw__run_results') }}
),

runs as (
    select * from {{ ref('stg_raw__all_runs') }}
),

final as (
    select
        runs.run_id,
        runs.tenant,
        runs.started_at,
        timezone('UTC', results.finished_at) as finished_at,
        results.status,
        runs.file_name,
        runs.sha256,
        runs.format,
        runs.encoding,
        summary.rows_read,
        summary.rows_valid,
        summary.rows_rejected,
        summary.rows_merged,
        summary.rows_duplicate,
        summary.errors,
        summary.warnings
    from runs
    left join results using (run_id)
    left join {{ ref('run_summary') }} as summary using (run_id)
)

select * from final
