-- One row per run: the row accounting the gate checks and the report shows.
with

run as (
    select * from {{ ref('stg_raw__runs') }}
),

rows as (
    select * from {{ ref('client_rows') }}
    where run_id = (select run_id from run)
),

issues as (
    select * from {{ ref('issues') }}
    where run_id = (select run_id from run)
),

counts as (
    select
        count(*) as rows_read,
        count(*) filter (where status = 'valid') as rows_valid,
        count(*) filter (where status = 'rejected') as rows_rejected,
        count(*) filter (where status = 'merged') as rows_merged,
        count(*) filter (where status = 'duplicate') as rows_duplicate
    from rows
),

final as (
    select
        run.run_id,
        run.tenant,
        counts.*,
        rows_valid + rows_rejected + rows_merged + rows_duplicate as rows_accounted,
        case when rows_read = 0 then 0 else rows_rejected / rows_read end as reject_rate,
        run.max_reject_rate,
        (select count(*) from issues where code = 'login_duplicate') as login_duplicates,
        (select count(*) from issues where severity = 'error') as errors,
        (select count(*) from issues where severity = 'warning') as warnings
    from run
    cross join counts
)

select * from final
