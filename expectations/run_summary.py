"""marts.run_summary: the gate policy itself (reject rate, logins, row accounting)."""

import great_expectations as gx

from ferry.rules import shared_check


def build_suite(max_reject_rate: float) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="run_summary")
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="reject_rate", min_value=0, max_value=max_reject_rate, meta={"check": "reject_rate_within_limit"}
        )
    )
    # a shared login blocks the load whatever --max-reject-rate says (docs/CONTRACT.md §4)
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="login_duplicates", min_value=0, max_value=0, meta={"check": "no_duplicate_logins"}
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A="rows_read", column_B="rows_accounted", meta={"check": shared_check("rows_accounted")}
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(column="rows_read", min_value=1, meta={"check": "file_has_rows"})
    )
    return suite
