"""marts.balances: one row per client, kind and card template, never negative."""

import great_expectations as gx

from ferry.rules import BALANCE_KINDS, shared_check

# entries and credits, then the card types' kinds (dbt_project.yml, seeds/card_types.csv)
KINDS = list(BALANCE_KINDS)


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="balances")
    for expectation in (
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="amount", min_value=0, meta={"check": shared_check("balances.not_negative")}
        ),
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="kind", value_set=KINDS, meta={"check": "balances.kind_known"}
        ),
        gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=["client_key", "kind", "card_template_key"], meta={"check": "balances.one_per_client_kind"}
        ),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="client_key", meta={"check": "balances.client_known"}),
    ):
        suite.add_expectation(expectation)
    return suite
