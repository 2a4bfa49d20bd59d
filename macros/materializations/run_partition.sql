{#
  A mart that keeps every run's rows: each build replaces the current run's rows
  (config `run_filter`, a condition on the table's own columns) and keeps the others.

  dbt's incremental materialization first writes the model into a temporary table and
  then copies it into the mart: every mart written twice, every run after a home's first
  (and every small run, which works in a copy of the empty warehouse). Here the model's
  rows go into the mart once. A column the mart lacks (a newer Ferry added it) is added
  first, typed as the model's query returns it; a contract is asserted as for a table.
#}
{% materialization run_partition, adapter='duckdb', supported_languages=['sql'] %}
{%- set existing = load_cached_relation(this) -%}
{%- set target = this.incorporate(type='table') -%}
{%- set run_filter = config.require('run_filter') -%}

{{ run_hooks(pre_hooks, inside_transaction=False) }}
{{ run_hooks(pre_hooks, inside_transaction=True) }}

{% if existing is none %}
    {% set build_sql = create_table_as(False, target, sql) %}
{% else %}
    {% if config.get('contract').enforced %}
        {% do get_assert_columns_equivalent(sql) %}
    {% endif %}
    {%- set have = adapter.get_columns_in_relation(existing) | map(attribute='name') | map('lower') | list -%}
    {%- set wanted = run_query('describe select * from (\n' ~ sql ~ '\n) as model_subq') -%}
    {% for column in wanted.rows if column[0] | lower not in have %}
        {% do run_query('alter table ' ~ target ~ ' add column ' ~ adapter.quote(column[0]) ~ ' ' ~ column[1]) %}
    {% endfor %}
    {% set build_sql %}
    delete from {{ target }} where {{ run_filter }};
    insert into {{ target }} by name (
        {{ sql }}
    );
    {% endset %}
{% endif %}

{% call statement('main') %}
{{- build_sql }}
{% endcall %}

{{ run_hooks(post_hooks, inside_transaction=True) }}
{% do adapter.commit() %}
{{ run_hooks(post_hooks, inside_transaction=False) }}

{{ return({'relations': [target]}) }}
{% endmaterialization %}
