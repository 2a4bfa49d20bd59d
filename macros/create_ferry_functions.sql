{#
  Ferry's field rules that every model shares (docs/CONTRACT.md §3), as DuckDB macros.
  They live in the warehouse, so an analyst can run `select ferry_parse_number('1.000,50')`
  and get exactly what the pipeline got.
#}
{% macro create_ferry_functions() %}
{% set currency = "(\\p{Sc}|Kč|Kc|zł|zl|Ft|kr|Fr\\.|[A-Za-z]{3})" %}
-- trim: spaces, tabs, no-break spaces and a stray BOM at both ends; '' becomes NULL
create or replace macro ferry_trim(x) as
    case
        when x = '' then null
        when regexp_matches(x, '^[\s\x{00A0}\x{202F}\x{FEFF}]|[\s\x{00A0}\x{202F}\x{FEFF}]$')
            then nullif(trim(x, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(160) || chr(8239) || chr(65279)), '')
        else x
    end;

-- trimmed, without the leading ' that spreadsheets and shops write to keep a value text
-- ('0612345678, '7001): ids, phones, postal codes and amounts (ferry/ingest/values.py: untick)
create or replace macro ferry_untick(x) as
    ferry_trim(case when contains(x, chr(39)) then regexp_replace(x, '^[\s\x{00A0}\x{202F}\x{FEFF}]*''', '') else x end);

-- trim and collapse inner whitespace (names)
create or replace macro ferry_collapse(x) as
    ferry_trim(regexp_replace(x, '[\s\x{00A0}\x{202F}]+', ' ', 'g'));

-- numbers: group separators (spaces, no-break spaces, apostrophes) and a currency
-- symbol or 3-letter code before/after are dropped; the sign is kept for checking
create or replace macro ferry_number_squeezed(x) as
    replace(replace(replace(replace(replace(ferry_trim(x), ' ', ''), chr(160), ''), chr(8239), ''), chr(39), ''), '’', '');

create or replace macro ferry_number_text(x) as
    case
        when regexp_full_match(ferry_number_squeezed(x), '[-−+]?[0-9.,]*[0-9][-−]?') then ferry_number_squeezed(x)
        else regexp_replace(
            regexp_replace(
                regexp_replace(ferry_number_squeezed(x), '[\s]', '', 'g'),
                '^{{ currency }}?([-−+]?){{ currency }}?', '\2'),
            '([-−]?)(,-|\.-|,—)?{{ currency }}?$', '\1')
    end;

-- on the output of ferry_number_text: is there a minus sign?
create or replace macro ferry_text_is_negative(t) as
    starts_with(t, '-') or starts_with(t, '−') or ends_with(t, '-') or ends_with(t, '−');

create or replace macro ferry_is_negative(x) as
    ferry_text_is_negative(ferry_number_text(x));

-- on the output of ferry_number_text: the sign removed
create or replace macro ferry_text_unsigned(t) as
    regexp_replace(t, '^[-−+]|[-−]$', '', 'g');

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

-- the value of unsigned number text (ferry_text_unsigned); NULL when not a number
create or replace macro ferry_number_value(u) as
    try_cast(ferry_number_digits(u) as decimal(20, 4));

-- the absolute value of an amount; NULL when blank or not a number. Plain digits, the
-- common case, skip the separator rules.
create or replace macro ferry_parse_number(x) as
    case when regexp_full_match(x, '[0-9]{1,15}') then cast(x as decimal(20, 4))
         else ferry_number_value(ferry_text_unsigned(ferry_number_text(x))) end;

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

-- a birth date is after 1900 and not in the future
create or replace macro ferry_birth_date(d) as
    case when d between date '1900-01-01' and current_date then d end;

create or replace macro ferry_parse_date(x, date_order) as
    ferry_birth_date(ferry_parse_date_any(ferry_trim(x), date_order));

-- e-mail syntax: local@domain.tld, no spaces (var('email_pattern'), shared with Python)
-- at most 254 characters (the longest address SMTP carries), so it fits every index
create or replace macro ferry_email_is_valid(x) as
    length(x) <= 254 and regexp_full_match(x, '{{ var("email_pattern") }}');

-- a value safe to show in a message: short, one line
create or replace macro ferry_show(x) as
    case when length(x) > 60 then left(regexp_replace(x, '[\r\n\t]+', ' ', 'g'), 57) || '...'
         else regexp_replace(x, '[\r\n\t]+', ' ', 'g') end;
{% endmacro %}
