"""marts.clients: one client per key, and every value the target requires is well formed."""

import great_expectations as gx

from ferry.rules import anchored_email_pattern, shared_check

# the rule the models apply (dbt_project.yml's email_pattern), anchored: GX searches. It
# spells RE2's \s out, so pandas runs it in Arrow instead of Python's re value by value.
EMAIL_REGEX = anchored_email_pattern()
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="clients")
    for expectation in (
        gx.expectations.ExpectColumnValuesToBeUnique(column="client_key", meta={"check": "clients.key_unique"}),
        gx.expectations.ExpectColumnValuesToBeUnique(column="match_key", meta={"check": "clients.match_key_unique"}),
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="full_name", meta={"check": shared_check("clients.name_present")}
        ),
        gx.expectations.ExpectColumnValuesToMatchRegex(
            column="email", regex=EMAIL_REGEX, meta={"check": "clients.email_format"}
        ),
        gx.expectations.ExpectColumnValuesToBeUnique(column="email", meta={"check": "clients.email_unique"}),
        gx.expectations.ExpectColumnValuesToMatchRegex(
            column="phone", regex=E164_REGEX, meta={"check": "clients.phone_e164"}
        ),
        gx.expectations.ExpectColumnValuesToBeUnique(column="login_key", meta={"check": "clients.login_unique"}),
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="newsletter_consent", meta={"check": "clients.consent_present"}
        ),
        # a client holding a balance must be able to claim it
        gx.expectations.ExpectColumnValuesToNotBeInSet(
            column="balance_email", value_set=[""], meta={"check": "clients.balance_has_email"}
        ),
    ):
        suite.add_expectation(expectation)
    return suite
