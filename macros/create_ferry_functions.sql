{#
  Ferry's field rules that every model shares (CONTRACT §3), as DuckDB macros.
  They live in the warehouse, so an analyst can run `select ferry_parse_number('1.000,50')`
  and get exactly what the pipeline got.
#}
{% macro create_ferry_functions() %}
{% set currency = "(\\p{Sc}|Kč|Kc|zł|zl|Ft|kr|Fr\\.|[A-Za-z]{3})" %}
-- trim: spaces, tabs, no-break spaces and a stray BOM at both ends; '' becomes NULL
create or replace macro ferry_trim(x) as
    nullif(regexp_replace(x, '^[\s\x{00A0}\x{202F}\x{FEFF}]+|[\s\x{00A0}\x{202F}\x{FEFF}]+$', '', 'g'), '');

-- trim and collapse inner whitespace (names)
create or replace macro ferry_collapse(x) as
    ferry_trim(regexp_replace(x, '[\s\x{00A0}\x{202F}]+', ' ', 'g'));

-- numbers: group separators (spaces, no-break spaces, apostrophes) and a currency
-- symbol or 3-letter code before/after are dropped; the sign is kept for checking
create or replace macro ferry_number_text(x) as
    regexp_replace(
        regexp_replace(
            regexp_replace(ferry_trim(x), '[\s\x{00A0}\x{202F}''’]', '', 'g'),
            '^{{ currency }}?([-−+]?){{ currency }}?', '\2'),
        '([-−]?)(,-|\.-|,—)?{{ currency }}?$', '\1');

create or replace macro ferry_is_negative(x) as
    regexp_matches(ferry_number_text(x), '^[-−]|[-−]$');

-- the unsigned digits with '.' as decimal mark, or NULL when it is not a number
create or replace macro ferry_number_digits(s) as
    case
        when not regexp_full_match(s, '[0-9.,]*[0-9][0-9.,]*') then null
        when strpos(s, '.') > 0 and strpos(s, ',') > 0 then
            case when strpos(reverse(s), '.') < strpos(reverse(s), ',')
                 then replace(s, ',', '')
                 else replace(replace(s, '.', ''), ',', '.') end
        when strpos(s, '.') > 0 or strpos(s, ',') > 0 then
            case
                when length(s) - length(replace(replace(s, '.', ''), ',', '')) > 1
                    then replace(replace(s, '.', ''), ',', '')
                when regexp_full_match(s, '[0-9]+[.,][0-9]{3}')
                    then replace(replace(s, '.', ''), ',', '')
                else replace(s, ',', '.')
            end
        else s
    end;

-- the absolute value of an amount; NULL when blank or not a number
create or replace macro ferry_parse_number(x) as
    try_cast(ferry_number_digits(regexp_replace(ferry_number_text(x), '^[-−+]|[-−]$', '', 'g')) as decimal(20, 4));

-- dates: ISO, day-first (or month-first with date_order 'mdy'), Excel serial numbers;
-- a date in the future or before 1900 is not a birth date
create or replace macro ferry_parse_date_any(x, date_order) as
    coalesce(
        try_strptime(left(x, 10), '%Y-%m-%d'),
        case when date_order = 'mdy'
             then try_strptime(replace(replace(x, '. ', '.'), ' ', ''), ['%m/%d/%Y', '%m.%d.%Y', '%m-%d-%Y', '%m/%d/%y', '%m.%d.%y'])
             else try_strptime(replace(replace(x, '. ', '.'), ' ', ''), ['%d.%m.%Y', '%d/%m/%Y', '%d-%m-%Y', '%d.%m.%y', '%d/%m/%y'])
        end,
        try_strptime(x, ['%Y/%m/%d', '%Y.%m.%d']),
        case when regexp_full_match(x, '[0-9]{1,5}(\.0+)?')
             then (date '1899-12-30' + cast(floor(cast(x as double)) as integer))::timestamp
        end
    )::date;

create or replace macro ferry_parse_date(x, date_order) as
    case when ferry_parse_date_any(ferry_trim(x), date_order) between date '1900-01-01' and current_date
         then ferry_parse_date_any(ferry_trim(x), date_order) end;

-- e-mail syntax: local@domain.tld, no spaces
create or replace macro ferry_email_is_valid(x) as
    regexp_full_match(x, '[^@\s]+@([^@\s.]+\.)+[^@\s.0-9]{2,}');

-- a value safe to show in a message: short, one line
create or replace macro ferry_show(x) as
    case when length(x) > 60 then left(regexp_replace(x, '[\r\n\t]+', ' ', 'g'), 57) || '...'
         else regexp_replace(x, '[\r\n\t]+', ' ', 'g') end;
{% endmacro %}
