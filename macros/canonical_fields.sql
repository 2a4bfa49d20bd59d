{# The canonical client fields (CONTRACT §3); ferry/fields.py holds the same list for Python. #}
{% macro canonical_fields() %}
    {{ return(["full_name", "first_name", "last_name", "salutation", "email", "phone",
               "postal_code", "birth_date", "consent", "entries", "credits", "card_balance",
               "login_id", "password", "tags", "external_id"]) }}
{% endmacro %}
