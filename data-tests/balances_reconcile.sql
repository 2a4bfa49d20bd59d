-- What the kept source rows hold equals what would be loaded, per run and kind.
select *
from {{ ref('balance_reconciliation') }}
where source_total <> loaded_total
