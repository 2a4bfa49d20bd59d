-- The number rules of docs/CONTRACT.md §3, fed through the warehouse macro (returns failures).
with cases (input, expected) as (
    values
    ('1.000', 1000), ('1,000', 1000), ('12,5', 12.5), ('1 000,50', 1000.5),
    ('1.000,50', 1000.5), ('1,000.50', 1000.5), ('1''000', 1000), ('€ 12,50', 12.5),
    ('12,50 €', 12.5), ('CZK 1 000', 1000), ('1 000 Kč', 1000), ('0.5', 0.5),
    ('100,-', 100), ('1.000.000', 1000000), ('USD12', 12)
)

select * from cases where ferry_parse_number(input) is distinct from expected
