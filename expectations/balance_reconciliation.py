"""marts.balance_reconciliation: what the kept source rows hold is what would be loaded."""

import great_expectations as gx

from ferry.rules import shared_check


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="balance_reconciliation")
    suite.add_expectation(
        gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A="source_total", column_B="loaded_total", meta={"check": shared_check("balances_reconcile")}
        )
    )
    return suite
