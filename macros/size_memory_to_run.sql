{#
  The transform's DuckDB memory grows with the run, within bounds (var transform_memory):
  a small run leaves the machine to the processes beside it (the gate's, other runs), a
  run of millions of rows gets room to join and sort without spilling to disk. Decided
  when dbt runs, from the run's raw rows, so that dbt's parse is the same for every run.
  The profile sets no memory_limit: dbt-duckdb applies its settings to every cursor it
  opens, which would undo this one for every model (data-tests/transform_memory_is_the_runs.sql).
#}
{% macro transform_memory_mb() %}
{%- set bounds = var('transform_memory') -%}
{%- set counted = run_query("select count(*) from raw.rows where run_id in (select run_id from raw.current_run)") -%}
{%- set wanted = (counted.columns[0].values()[0] * bounds.bytes_per_row / 1048576) | int -%}
{{- return([bounds.min_mb, [bounds.max_mb, wanted] | min] | max) -}}
{% endmacro %}

{% macro size_memory_to_run() %}
{%- if execute -%}
set memory_limit = '{{ transform_memory_mb() }}MB'
{%- endif -%}
{% endmacro %}
