-- Every landed row is counted exactly once: read = valid + rejected + merged + duplicate.
select *
from {{ ref('run_summary') }}
where rows_read <> rows_valid + rows_rejected + rows_merged + rows_duplicate
