"""`ferry template`: empty import templates (headers + one example row) users fill in.

Every header here is in the dictionary (seeds/column_aliases.csv), so a filled-in template
migrates with `--source auto` and no mapping; a test feeds each one back through Ferry.
"""

from __future__ import annotations

from pathlib import Path

from ferry import rules
from ferry.errors import InputError
from ferry.ingest.card_templates import CARD_TYPES
from ferry.report.csvsafe import write_safe_csv

LANGUAGES = ("en", "de", "fr", "es", "cs")

# field -> header per language
HEADERS: dict[str, dict[str, str]] = {
    "full_name": {
        "en": "name and surname",
        "de": "Vor- und Nachname",
        "fr": "nom et prénom",
        "es": "nombre y apellidos",
        "cs": "jméno a příjmení",
    },
    "salutation": {"en": "Salutation", "de": "Anrede", "fr": "Civilité", "es": "Tratamiento", "cs": "Oslovení"},
    "first_name": {"en": "First name", "de": "Vorname", "fr": "Prénom", "es": "Nombre", "cs": "Jméno"},
    "last_name": {"en": "Last name", "de": "Nachname", "fr": "Nom", "es": "Apellidos", "cs": "Příjmení"},
    "postal_code": {"en": "Postal code", "de": "Postleitzahl", "fr": "Code postal", "es": "Código postal", "cs": "PSČ"},
    "email": {"en": "email", "de": "E-Mail", "fr": "email", "es": "correo electrónico", "cs": "e-mail"},
    "phone": {"en": "phone", "de": "Telefon", "fr": "téléphone", "es": "teléfono", "cs": "telefon"},
    "entries": {"en": "entries", "de": "Eintritte", "fr": "entrées", "es": "entradas", "cs": "vstupy"},
    "credits": {"en": "credits", "de": "Guthaben", "fr": "crédits", "es": "créditos", "cs": "kredity"},
    "consent": {
        "en": "consent",
        "de": "Newsletter-Einwilligung",
        "fr": "consentement",
        "es": "consentimiento",
        "cs": "souhlas",
    },
    "login_id": {
        "en": "Login ID",
        "de": "Login ID",
        "fr": "Identifiant",
        "es": "ID de usuario",
        "cs": "Přihlašovací jméno",
    },
    "password": {"en": "Password", "de": "Passwort", "fr": "Mot de passe", "es": "Contraseña", "cs": "Heslo"},
    "card_balance": {"en": "Balance", "de": "Saldo", "fr": "Solde", "es": "Saldo", "cs": "Zůstatek"},
}

EXAMPLES = {
    "full_name": "Jana Nováková",
    "salutation": "Frau",
    "first_name": "Jana",
    "last_name": "Nováková",
    "postal_code": "01067",
    "email": "jana.novakova@example.com",
    "phone": "+420 603 123 456",
    "entries": "5",
    "credits": "250",
    "consent": "yes",
    "login_id": "jana.novakova@example.com",
    "password": "change-me-2026",
    "card_balance": "11",
}

LAYOUTS: dict[str, tuple[str, ...]] = {
    "zenamu": ("full_name", "email", "entries", "credits", "phone", "consent"),
    # eTermin's help page example: Anrede, Nachname, Vorname, Postleitzahl, E-Mail Adresse
    "etermin": ("salutation", "last_name", "first_name", "postal_code", "email", "phone"),
    "etermin-logins": ("salutation", "last_name", "first_name", "postal_code", "email", "login_id", "password"),
}
CARD_LAYOUT = ("first_name", "last_name", "email", "phone", "card_balance")


def template_kinds() -> tuple[str, ...]:
    return tuple(LAYOUTS) + CARD_TYPES


def template_rows(kind: str, language: str = "en") -> tuple[list[str], list[str]]:
    if kind not in template_kinds():
        raise InputError(f"unknown template '{kind}': choose one of {', '.join(template_kinds())}")
    if language not in LANGUAGES:
        raise InputError(f"--language must be one of {', '.join(LANGUAGES)}, got '{language}'")
    fields = LAYOUTS.get(kind, CARD_LAYOUT)
    header = [HEADERS[f][language] for f in fields]
    example = [EXAMPLES[f] for f in fields]
    card = rules.CARD_TYPES.get(kind)
    if card is not None and not card.takes_balance:
        example[fields.index("card_balance")] = ""  # membership, coupon: no balance from the file
    return header, example


def write_template(kind: str, out: Path, fmt: str = "csv", language: str = "en") -> Path:
    header, example = template_rows(kind, language)
    if fmt == "csv":
        write_safe_csv(out, header, [example])
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = kind
        sheet.append(header)
        # text cells, so Excel keeps leading zeros and the + of phone numbers
        sheet.append(example)
        for cell in sheet[2]:
            cell.number_format = "@"
        book.save(out)
    else:
        raise InputError(f"--format must be csv or xlsx, got '{fmt}'")
    return out
