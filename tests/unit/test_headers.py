"""Header normalisation, the alias seed, mapping files and header-row detection."""

import csv

import pytest

from ferry.errors import InputError
from ferry.ingest.headers import (
    ALIASES_PATH,
    Dictionary,
    Mapping,
    default_dictionary,
    find_header_row,
    header_key,
    load_mapping,
    map_headers,
    map_order,
    parse_field,
)
from ferry.rules import CANONICAL_FIELDS

D = default_dictionary()


@pytest.mark.parametrize(
    "header, key",
    [
        ("personEmail", "person email"),
        ("E-Mail-Adresse", "e mail adresse"),
        ("Prénom", "prenom"),
        ("  First_Name ", "first name"),
        ("PSČ", "psc"),
        ("Hasło", "haslo"),
        ("Straße", "strasse"),
        ("XMLFile", "xml file"),
        ('x");DROP TABLE clients;--', "x drop table clients"),
    ],
)
def test_header_key_ignores_case_accents_punctuation_and_camel_case(header, key):
    assert header_key(header) == key


def field(header):
    alias = D.lookup(header)
    return alias and alias.field


@pytest.mark.parametrize(
    "header, expected",
    [
        # the contract's name rules, in the languages it names
        ("Vorname", "first_name"),
        ("prénom", "first_name"),
        ("Nombre", "first_name"),
        ("Jméno", "first_name"),
        ("Imię", "first_name"),
        ("Nome", "first_name"),
        ("Voornaam", "first_name"),
        ("Given name", "first_name"),
        ("Surname", "last_name"),
        ("Nachname", "last_name"),
        ("Nom", "last_name"),
        ("Apellidos", "last_name"),
        ("Příjmení", "last_name"),
        ("Nazwisko", "last_name"),
        ("Cognome", "last_name"),
        ("Achternaam", "last_name"),
        ("name and surname", "full_name"),
        ("nombre y apellidos", "full_name"),
        ("Customer name", "full_name"),
        ("nom et prénom", "full_name"),
        ("Jméno a příjmení", "full_name"),
        ("Imię i nazwisko", "full_name"),
        ("Nome e cognome", "full_name"),
        ("Volledige naam", "full_name"),
        ("Anrede", "salutation"),
        ("Salutation", "salutation"),
        ("Aanhef", "salutation"),
        ("E-Mail Adresse", "email"),
        ("Courriel", "email"),
        ("Correo electrónico", "email"),
        ("Adres e-mail", "email"),
        ("E-mailadres", "email"),
        ("Mobile", "phone"),
        ("Handynummer", "phone"),
        ("Téléphone", "phone"),
        ("Teléfono", "phone"),
        ("Telefonní číslo", "phone"),
        ("Numer telefonu", "phone"),
        ("Cellulare", "phone"),
        ("Telefoonnummer", "phone"),
        ("Postleitzahl", "postal_code"),
        ("ZIP", "postal_code"),
        ("Code postal", "postal_code"),
        ("PSČ", "postal_code"),
        ("Kod pocztowy", "postal_code"),
        ("CAP", "postal_code"),
        ("Date of birth", "birth_date"),
        ("Geburtsdatum", "birth_date"),
        ("Datum narození", "birth_date"),
        ("Data urodzenia", "birth_date"),
        ("Geboortedatum", "birth_date"),
        ("Newsletter", "consent"),
        ("Souhlas", "consent"),
        ("Zgoda marketingowa", "consent"),
        ("Remaining entries", "entries"),
        ("Zbývající vstupy", "entries"),
        ("Resterende beurten", "entries"),
        ("Credits", "credits"),
        ("Guthaben", "credits"),
        ("Kredity", "credits"),
        ("Balance", "card_balance"),
        ("Saldo", "card_balance"),
        ("Stamps", "card_balance"),
        ("Points", "card_balance"),
        ("Stempel", "card_balance"),
        ("Login ID", "login_id"),
        ("Benutzername", "login_id"),
        ("Password", "password"),
        ("Passwort", "password"),
        ("Heslo", "password"),
        ("Mot de passe", "password"),
        ("Tags", "tags"),
        ("Štítky", "tags"),
        ("Customer ID", "external_id"),
        ("Kundennummer", "external_id"),
        # owner prefixes: personX / Customer X fall back to X
        ("personPostalCode", "postal_code"),
        ("Customer Phone", "phone"),
        ("Kunden-E-Mail", "email"),
        ("Notes", None),
        ("Company Name", None),
        ('x");DROP TABLE clients;--', None),
    ],
)
def test_dictionary_maps_headers_in_every_language(header, expected):
    assert field(header) == expected


def test_seed_is_a_dbt_seed_over_canonical_fields_in_eight_languages():
    with open(ALIASES_PATH, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["alias", "field", "system", "language"]
    assert {r["field"] for r in rows} == set(CANONICAL_FIELDS)
    assert {"en", "de", "fr", "es", "cs", "pl", "it", "nl"} <= {r["language"] for r in rows}
    Dictionary.load()  # raises if one header key would name two fields


def test_seed_rejects_a_key_with_two_fields(tmp_path):
    seed = tmp_path / "aliases.csv"
    seed.write_text("alias,field,system,language\nE-Mail,email,any,de\ne mail,phone,any,en\n", encoding="utf-8")
    with pytest.raises(ValueError, match="both"):
        Dictionary.load(seed)


LAYOUTS = {
    "zenamu": ["name and surname", "email", "entries", "credits", "phone", "consent"],
    "etermin": ["Anrede", "Nachname", "Vorname", "Postleitzahl", "E-Mail Adresse", "Login ID", "Passwort"],
    "square": [
        "Reference ID",
        "First Name",
        "Last Name",
        "Email Address",
        "Phone Number",
        "Nickname",
        "Company Name",
        "Street Address 1",
        "City",
        "Postal Code",
        "Birthday",
        "Memo",
        "Square Customer ID",
        "Creation Source",
        "Email Subscription Status",
    ],
    "fresha": [
        "Client ID",
        "First Name",
        "Last Name",
        "Full Name",
        "Blocked",
        "Gender",
        "Mobile Number",
        "Telephone",
        "Email",
        "Accepts Marketing",
        "Accepts SMS Marketing",
        "City",
        "Post Code",
        "Date of Birth",
        "Added",
        "Note",
    ],
    "shore": [
        "first_name",
        "last_name",
        "gender",
        "email",
        "mobile",
        "birthday",
        "address_street",
        "address_postal_code",
        "address_city",
        "notes",
        "tags",
        "newsletter_status",
    ],
    "mindbody": [
        "Client ID",
        "Prefix",
        "First Name",
        "Last Name",
        "Email",
        "Mobile Phone",
        "Birth Date",
        "Zip Code",
        "Account Balance",
        "Send Promotional Emails",
    ],
    "nowbookit": [
        "First Name",
        "Last Name",
        "Phone",
        "Additional Phone",
        "Email",
        "Street Address",
        "Suburb",
        "Postcode",
        "BirthdayDate",
        "BirthdayMonth",
        "BirthdayYear",
        "Subscribed",
    ],
    "everfit": ["FIRST NAME", "LAST NAME", "EMAIL", "CATEGORY", "SEND INVITE"],
    "vagaro": [
        "First Name",
        "Last Name",
        "Email Address",
        "Mobile Phone",
        "Day Phone",
        "Birthday",
        "Zip",
        "Points Balance",
    ],
    "stamped": ["first_name", "last_name", "email", "points", "birthday", "vip_tier"],
    "dotykacka": [
        "externalId",
        "customerId",
        "vatId",
        "firstName",
        "lastName",
        "companyName",
        "barCode",
        "email",
        "phone",
        "birthDay",
        "address",
        "city",
        "zip",
        "country",
    ],
    "practice": [
        "personSalutation",
        "personFirstName",
        "personLastName",
        "personEmail",
        "personPhone",
        "personBirthday",
        "personZip",
        "personStreet",
    ],
}


@pytest.mark.parametrize("system", sorted(LAYOUTS))
def test_real_export_layouts_map_and_name_their_system(system):
    headers = LAYOUTS[system]
    columns = map_headers(headers, None, D)
    mapped = {c.field for c in columns if c.field}
    assert {"email"} <= mapped
    assert "full_name" in mapped or {"first_name", "last_name"} <= mapped
    assert D.best_system(headers) == system


def test_fresha_italian_export_maps_names_and_phone():
    headers = [
        "ID cliente",
        "Nome",
        "Cognome",
        "Nome e cognome",
        "Numero di cellulare",
        "Telefono",
        "Email",
        "Accetta marketing",
        "Codice postale",
        "Data di nascita",
    ]
    fields = [c.field for c in map_headers(headers, None, D)]
    assert fields == [
        "external_id",
        "first_name",
        "last_name",
        "full_name",
        "phone",
        "phone",
        "email",
        "consent",
        "postal_code",
        "birth_date",
    ]
    assert D.best_system(headers) == "fresha"


def test_unknown_headers_name_no_system():
    assert D.best_system(["Notes", "Colour"]) == "generic"
    assert D.best_system([]) == "generic"


def test_second_column_for_a_field_is_a_duplicate_and_repeated_names_stay_apart():
    columns = map_headers(["Phone", "Email", "Phone", "Mobile", "Notes", "Notes"], None, D)
    assert [(c.index, c.field, c.is_duplicate) for c in columns] == [
        (1, "phone", False),
        (2, "email", False),
        (3, "phone", True),
        (4, "phone", True),
        (5, None, False),
        (6, None, False),
    ]


def test_mapping_file_overrides_the_dictionary(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text('columns:\n  "Kontakt": phone\n  "E-Mail": skip\n  "Telefon": external_id\n', encoding="utf-8")
    mapping = load_mapping(path)
    columns = map_headers(["Kontakt", "e-mail", "Telefon", "Name"], mapping, D)
    assert [(c.field, c.mapped_by) for c in columns] == [
        ("phone", "mapping"),
        (None, "mapping"),
        ("external_id", "mapping"),
        ("full_name", "dictionary"),
    ]


def test_mapping_file_with_order_is_for_a_headerless_file(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text("order: [full_name, email, '-', phone]\n", encoding="utf-8")
    assert load_mapping(path) == Mapping(order=("full_name", "email", None, "phone"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("columns:\n  A: telephone\n", "'telephone' is not a field"),
        ("just: text\n", "needs `columns:`"),
        ("columns: [unclosed\n", "not readable YAML"),
    ],
)
def test_bad_mapping_files_are_input_errors(tmp_path, text, message):
    path = tmp_path / "m.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_mapping(path)


def test_missing_mapping_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_mapping(tmp_path / "nope.yml")


def test_unknown_column_field_names_it_and_lists_the_valid_ones():
    with pytest.raises(InputError) as e:
        parse_field("mail", "--columns")
    assert "'mail'" in str(e.value) and "full_name" in str(e.value) and "external_id" in str(e.value)
    assert [parse_field(v, "--columns") for v in ("email", "", "-", "SKIP")] == ["email", None, None, None]


def test_map_order_marks_duplicates():
    columns = map_order(("email", None, "email"), "columns")
    assert [(c.header, c.field, c.mapped_by, c.is_duplicate) for c in columns] == [
        (None, "email", "columns", False),
        (None, None, "columns", False),
        (None, "email", "columns", True),
    ]


def test_first_row_with_an_email_or_no_known_header_is_data():
    assert find_header_row([["Name", "Email"], ["Jan", "j@x.cz"]], None, D, allow_title_rows=False) == 0
    assert find_header_row([["Jan", "j@x.cz"]], None, D, allow_title_rows=False) is None
    assert find_header_row([["Jan Novák", "Praha"]], None, D, allow_title_rows=False) is None
    assert find_header_row([["Email", "jan@example.com"]], None, D, allow_title_rows=False) is None


def test_spreadsheet_header_may_sit_below_title_rows():
    rows = [["Client list 2024", ""], ["exported by admin", ""], ["Name", "Email"], ["Jan", "j@x.cz"]]
    assert find_header_row(rows, None, D, allow_title_rows=True) == 2
    assert find_header_row(rows, None, D, allow_title_rows=False) is None
    too_deep = [["Export 2024"]] * 10 + [["Name", "Email"]]
    assert find_header_row(too_deep, None, D, allow_title_rows=True) is None
