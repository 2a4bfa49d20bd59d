{#
  The transform's DuckDB memory grows with the run, within bounds (var transform_memory):
  a small run leaves the machine to the processes beside it (the gate's, other runs), a
  run of millions of rows gets room to join and sort without spilling to disk. Decided
  when dbt runs, from the run's raw rows, so that dbt's parse is the same for every run.
#}
{% macro size_memory_to_run() %}
{%- if execute -%}
{%- set bounds = var('transform_memory') -%}
{%- set counted = run_query("select count(*) from raw.rows where run_id in (select run_id from raw.current_run)") -%}
{%- set wanted = (counted.columns[0].values()[0] * bounds.bytes_per_row / 1048576) | int -%}
set memory_limit = '{{ [bounds.min_mb, [bounds.max_mb, wanted] | min] | max }}MB'
{%- endif -%}
{% endmacro %}
