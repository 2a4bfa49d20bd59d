-- Every model (each on a cursor of its own) runs under the memory limit sized for the run
-- (macros/size_memory_to_run.sql), not one a cursor's settings put back.
{%- if execute %}
select current_setting('memory_limit') as memory_limit
where
    current_setting('memory_limit')
    <> format_bytes(cast({{ transform_memory_mb() }} as bigint) * 1000 * 1000)
{%- else %}
select null as memory_limit
where false
{%- endif %}
