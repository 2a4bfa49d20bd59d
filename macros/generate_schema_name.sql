{# Schemas are named exactly as configured (raw, staging, intermediate, marts, seeds),
   so analysts query marts.clients, not main_marts.clients. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
{{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
