"""The canonical client fields (CONTRACT §3): the vocabulary every mapping targets."""

CANONICAL_FIELDS: tuple[str, ...] = (
    "full_name",
    "first_name",
    "last_name",
    "salutation",
    "email",
    "phone",
    "postal_code",
    "birth_date",
    "consent",
    "entries",
    "credits",
    "card_balance",
    "login_id",
    "password",
    "tags",
    "external_id",
)

# Fields that hold an amount the client can spend: a row with any of them > 0 needs an email.
BALANCE_FIELDS: tuple[str, ...] = ("entries", "credits", "card_balance")
