"""Write a realistic synthetic client-list export, fast.

    python -m bench.generate --rows 1000000 --out bench/data/zenamu_1000000.csv
    python -m bench.generate --rows 1000000 --out bench/data/german_1000000.csv \\
        --encoding cp1252 --delimiter ';'
    python -m bench.generate --rows 100000 --out bench/data/zenamu_100000.xlsx --format xlsx

There are two layouts:

* `zenamu` (the default for UTF-8): `name and surname,email,entries,credits,phone,consent,
  birth date,postal code,customer id`. Amounts are written in mixed styles (`1000`,
  `1 000`, `150.50`, `"150,50"`).
* `german` (the default for cp1252): `Kundennummer;Anrede;Vorname;Nachname;E-Mail;Telefon;
  Geburtsdatum;PLZ;Eintritte;Guthaben;Newsletter`, with decimal commas (`1.250,50`) and
  `\\r\\n` line endings, like a German Windows program's export. Every name in it can be
  encoded in cp1252.

CSV is generated column-wise with numpy and polars, with no Python loop over rows: 1M rows
take a few seconds. The xlsx writer loops over rows with openpyxl and is meant for sizes up
to about 100k.

Planted in every file, with the row categories drawn independently for each row:

| share | what | what the pipeline must say (docs/CONTRACT.md §3/§4) |
|---|---|---|
| ~1 %   | same email and same name as another client, with more credits     | `merged` |
| ~0.5 % | an exact copy of another row | `duplicate_row` |
| ~0.5 % | invalid email on a row that holds a balance | error `email_invalid` |
| ~0.5 % | negative credits | error `balance_negative` |
| ~0.5 % | no name at all | error `name_missing` |
| ~0.5 % | garbage in entries (`abc`, `n/a`, `zwei`, `5x`) | error `entries_invalid` |
| ~2 %   | no email and no balance (valid) | — |
| ~0.3 % | a garbage phone (`12345`, `n/a`, …) | warning `phone_invalid` |

A few dates are impossible (`31.02.1980`, warning `date_invalid`), and some consent words are
unknown (`maybe`, warning `consent_unknown`). The exact counts of each planted category are
written beside the file as `<out>.meta.json`, so a harness can compare them with the run
summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import polars as pl

# --------------------------------------------------------------------------------------
# Name lists. Female surnames are given explicitly where the language inflects them.
# --------------------------------------------------------------------------------------

NAMES: dict[str, dict[str, list[str]]] = {
    "CZ": {
        "female": [
            "Jana",
            "Eva",
            "Hana",
            "Anna",
            "Lenka",
            "Kateřina",
            "Lucie",
            "Věra",
            "Alena",
            "Petra",
            "Veronika",
            "Jaroslava",
            "Tereza",
            "Martina",
            "Michaela",
            "Zuzana",
            "Markéta",
            "Barbora",
            "Eliška",
            "Klára",
            "Adéla",
            "Natálie",
            "Šárka",
            "Dagmar",
            "Ivana",
            "Monika",
            "Zdeňka",
            "Renáta",
            "Simona",
            "Božena",
            "Radka",
            "Kristýna",
        ],
        "male": [
            "Jiří",
            "Jan",
            "Petr",
            "Josef",
            "Pavel",
            "Martin",
            "Tomáš",
            "Jaroslav",
            "Miroslav",
            "Zdeněk",
            "Václav",
            "Michal",
            "František",
            "Jakub",
            "Lukáš",
            "Ondřej",
            "Vojtěch",
            "Matěj",
            "David",
            "Radek",
            "Luboš",
            "Stanislav",
            "Milan",
            "Karel",
            "Filip",
            "Aleš",
            "Dominik",
            "Štěpán",
            "Vít",
            "Roman",
            "Jindřich",
            "Adam",
        ],
        "last": [
            "Novák/Nováková",
            "Svoboda/Svobodová",
            "Novotný/Novotná",
            "Dvořák/Dvořáková",
            "Černý/Černá",
            "Procházka/Procházková",
            "Kučera/Kučerová",
            "Veselý/Veselá",
            "Horák/Horáková",
            "Němec/Němcová",
            "Pokorný/Pokorná",
            "Marek/Marková",
            "Pospíšil/Pospíšilová",
            "Hájek/Hájková",
            "Král/Králová",
            "Jelínek/Jelínková",
            "Růžička/Růžičková",
            "Beneš/Benešová",
            "Fiala/Fialová",
            "Sedláček/Sedláčková",
            "Doležal/Doležalová",
            "Zeman/Zemanová",
            "Kolář/Kolářová",
            "Navrátil/Navrátilová",
            "Čermák/Čermáková",
            "Urban/Urbanová",
            "Vaněk/Vaňková",
            "Blažek/Blažková",
            "Kříž/Křížová",
            "Kovář/Kovářová",
            "Šimek/Šimková",
            "Říha/Říhová",
            "Kopecký/Kopecká",
            "Bartoš/Bartošová",
            "Vlček/Vlčková",
            "Musil/Musilová",
            "Šťastný/Šťastná",
            "Holub/Holubová",
            "Mareš/Marešová",
            "Krejčí/Krejčí",
            "Soukup/Soukupová",
            "Kratochvíl/Kratochvílová",
            "Malý/Malá",
            "Dušek/Dušková",
        ],
    },
    "DE": {
        "female": [
            "Anna",
            "Maria",
            "Sophie",
            "Laura",
            "Lena",
            "Julia",
            "Katharina",
            "Lea",
            "Hannah",
            "Sarah",
            "Johanna",
            "Charlotte",
            "Emilie",
            "Bärbel",
            "Käthe",
            "Jördis",
            "Hülya",
            "Ursula",
            "Sabine",
            "Renate",
            "Petra",
            "Claudia",
            "Stefanie",
            "Nicole",
            "Andrea",
            "Jana",
            "Zoë",
            "Frauke",
            "Gesa",
            "Anke",
        ],
        "male": [
            "Lukas",
            "Maximilian",
            "Jonas",
            "Felix",
            "Paul",
            "Leon",
            "Tobias",
            "Stefan",
            "Jürgen",
            "Jörg",
            "Björn",
            "Günther",
            "Uwe",
            "Matthias",
            "Andreas",
            "Sebastian",
            "Florian",
            "Moritz",
            "Niklas",
            "Timo",
            "Klaus",
            "Dieter",
            "Wolfgang",
            "Heinz",
            "Rüdiger",
            "Sören",
            "Jens",
            "Malte",
            "Henrik",
            "Ole",
        ],
        "last": [
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Hoffmann",
            "Schäfer",
            "Koch",
            "Bauer",
            "Richter",
            "Klein",
            "Wolf",
            "Schröder",
            "Neumann",
            "Schwarz",
            "Zimmermann",
            "Braun",
            "Krüger",
            "Hofmann",
            "Hartmann",
            "Lange",
            "Schmitt",
            "Werner",
            "Krause",
            "Köhler",
            "Weiß",
            "Groß",
            "Jäger",
            "Böhm",
            "König",
            "Lorenz",
            "Öztürk",
            "Yılmaz",
            "Kühn",
            "Möller",
            "Vogt",
            "Roß",
            "Brückner",
            "Thießen",
            "Lüdtke",
        ],
    },
    "AT": {
        "female": [
            "Johanna",
            "Theresa",
            "Magdalena",
            "Valentina",
            "Anna",
            "Lea",
            "Marlene",
            "Elisabeth",
            "Franziska",
            "Viktoria",
            "Katharina",
            "Hannah",
            "Leonie",
            "Sophie",
            "Christina",
            "Birgit",
        ],
        "male": [
            "Florian",
            "Lukas",
            "Sebastian",
            "Matthias",
            "Dominik",
            "Alexander",
            "Maximilian",
            "Johann",
            "Josef",
            "Raphael",
            "Markus",
            "Thomas",
            "Bernhard",
            "Günter",
            "Jakob",
            "Elias",
        ],
        "last": [
            "Gruber",
            "Huber",
            "Bauer",
            "Wagner",
            "Pichler",
            "Steiner",
            "Moser",
            "Mayer",
            "Hofer",
            "Leitner",
            "Berger",
            "Fuchs",
            "Eder",
            "Fischer",
            "Schmid",
            "Winkler",
            "Weber",
            "Schwarz",
            "Maier",
            "Schneider",
            "Reiter",
            "Mayr",
            "Wimmer",
            "Egger",
            "Brunner",
            "Lang",
            "Baumgartner",
            "Auer",
            "Binder",
            "Lechner",
            "Wallner",
            "Aigner",
            "Ebner",
            "Koller",
            "Lehner",
            "Haas",
            "Schuster",
            "Hofbauer",
            "Pölzl",
            "Strauß",
            "Kögl",
            "Türk",
        ],
    },
    "PL": {
        "female": [
            "Anna",
            "Katarzyna",
            "Małgorzata",
            "Agnieszka",
            "Barbara",
            "Ewa",
            "Krystyna",
            "Elżbieta",
            "Zofia",
            "Joanna",
            "Magdalena",
            "Monika",
            "Aleksandra",
            "Natalia",
            "Justyna",
            "Karolina",
            "Beata",
            "Dorota",
        ],
        "male": [
            "Piotr",
            "Krzysztof",
            "Andrzej",
            "Tomasz",
            "Paweł",
            "Michał",
            "Marcin",
            "Jakub",
            "Łukasz",
            "Grzegorz",
            "Mateusz",
            "Wojciech",
            "Mariusz",
            "Dariusz",
            "Rafał",
            "Kamil",
            "Adam",
            "Marek",
        ],
        "last": [
            "Nowak/Nowak",
            "Kowalski/Kowalska",
            "Wiśniewski/Wiśniewska",
            "Wójcik/Wójcik",
            "Kowalczyk/Kowalczyk",
            "Kamiński/Kamińska",
            "Lewandowski/Lewandowska",
            "Zieliński/Zielińska",
            "Szymański/Szymańska",
            "Woźniak/Woźniak",
            "Dąbrowski/Dąbrowska",
            "Kozłowski/Kozłowska",
            "Jankowski/Jankowska",
            "Mazur/Mazur",
            "Wojciechowski/Wojciechowska",
            "Kwiatkowski/Kwiatkowska",
            "Krawczyk/Krawczyk",
            "Kaczmarek/Kaczmarek",
            "Piotrowski/Piotrowska",
            "Grabowski/Grabowska",
            "Wróbel/Wróbel",
            "Sokołowski/Sokołowska",
            "Górski/Górska",
            "Król/Król",
        ],
    },
    "GB": {
        "female": [
            "Olivia",
            "Amelia",
            "Isla",
            "Ava",
            "Emily",
            "Sophie",
            "Grace",
            "Chloe",
            "Charlotte",
            "Jessica",
            "Lucy",
            "Hannah",
            "Siobhán",
            "Zoë",
            "Renée",
            "Megan",
            "Niamh",
            "Eleanor",
        ],
        "male": [
            "Oliver",
            "George",
            "Harry",
            "Jack",
            "Jacob",
            "Noah",
            "Charlie",
            "Thomas",
            "James",
            "William",
            "Daniel",
            "Samuel",
            "Seán",
            "Rhys",
            "Owen",
            "Callum",
            "Alfie",
            "Ewan",
        ],
        "last": [
            "Smith",
            "Jones",
            "Williams",
            "Taylor",
            "Brown",
            "Davies",
            "Evans",
            "Wilson",
            "Thomas",
            "Johnson",
            "Roberts",
            "Robinson",
            "Thompson",
            "Wright",
            "Walker",
            "White",
            "Edwards",
            "Hughes",
            "Green",
            "Hall",
            "O'Brien",
            "O'Connor",
            "McDonald",
            "Patel",
            "Khan",
            "Murphy",
            "Campbell",
            "Stewart",
        ],
    },
    "US": {
        "female": [
            "Emma",
            "Olivia",
            "Ava",
            "Sophia",
            "Isabella",
            "Mia",
            "Abigail",
            "Madison",
            "Emily",
            "Zoë",
            "Renée",
            "Chloé",
            "María",
            "Lucía",
            "Aaliyah",
            "Harper",
            "Avery",
            "Scarlett",
        ],
        "male": [
            "Liam",
            "Noah",
            "William",
            "James",
            "Logan",
            "Benjamin",
            "Mason",
            "Elijah",
            "Oliver",
            "Jacob",
            "José",
            "Andrés",
            "Michael",
            "Ethan",
            "Daniel",
            "Tyler",
            "Brandon",
            "Jesús",
        ],
        "last": [
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Martinez",
            "Hernández",
            "López",
            "González",
            "Wilson",
            "Anderson",
            "Thomas",
            "Moore",
            "Jackson",
            "Martin",
            "Lee",
            "Nguyen",
            "Peña",
            "Muñoz",
            "Ramírez",
            "Kim",
            "Sullivan",
            "Walsh",
            "Cohen",
        ],
    },
}

COUNTRIES = ("CZ", "DE", "AT", "PL", "GB", "US")
COUNTRY_WEIGHTS = {
    "zenamu": (0.55, 0.20, 0.08, 0.07, 0.05, 0.05),
    "german": (0.12, 0.58, 0.15, 0.07, 0.04, 0.04),
}

DOMAINS = {
    "CZ": ["seznam.cz", "email.cz", "gmail.com", "centrum.cz", "volny.cz", "post.cz", "icloud.com", "outlook.com"],
    "DE": ["gmx.de", "web.de", "gmail.com", "t-online.de", "yahoo.de", "outlook.de", "freenet.de"],
    "AT": ["gmx.at", "aon.at", "gmail.com", "chello.at", "a1.net"],
    "PL": ["wp.pl", "onet.pl", "o2.pl", "interia.pl", "gmail.com"],
    "GB": ["gmail.com", "hotmail.co.uk", "outlook.com", "btinternet.com", "yahoo.co.uk"],
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
}

# (country calling code, national prefix, subscriber digits); all valid for libphonenumber.
PHONE_PLANS = {
    "CZ": (
        "420",
        [
            (p, 6)
            for p in [
                "601",
                "602",
                "603",
                "604",
                "605",
                "606",
                "607",
                "608",
                "702",
                "703",
                "704",
                "705",
                "720",
                "721",
                "722",
                "723",
                "724",
                "725",
                "730",
                "731",
                "732",
                "733",
                "734",
                "736",
                "737",
                "739",
                "770",
                "771",
                "773",
                "774",
                "775",
                "776",
                "777",
                "778",
                "779",
                "221",
                "222",
                "224",
                "233",
                "257",
                "266",
                "283",
                "543",
                "545",
                "585",
                "596",
            ]
        ],
    ),
    "DE": (
        "49",
        [(p, 8) for p in ["151", "152", "157", "159", "176", "177", "178", "179"]]
        + [(p, 7) for p in ["160", "162", "163", "170", "171", "172", "173", "174", "175"]]
        + [("30", 8), ("40", 8), ("89", 7), ("221", 7), ("69", 8)],
    ),
    "AT": ("43", [(p, 7) for p in ["664", "660", "676", "650"]] + [("699", 8), ("1", 7), ("316", 6)]),
    "PL": (
        "48",
        [
            (p, 6)
            for p in [
                "501",
                "502",
                "504",
                "509",
                "511",
                "512",
                "530",
                "535",
                "570",
                "600",
                "601",
                "602",
                "604",
                "660",
                "664",
                "691",
                "693",
                "721",
                "725",
                "730",
                "731",
                "781",
                "785",
                "790",
                "798",
                "881",
                "885",
            ]
        ],
    ),
    "GB": (
        "44",
        [
            (p, 6)
            for p in [
                "7400",
                "7412",
                "7450",
                "7500",
                "7590",
                "7723",
                "7766",
                "7800",
                "7832",
                "7850",
                "7900",
                "7956",
                "7976",
            ]
        ]
        + [("207", 7), ("208", 7), ("161", 7)],
    ),
    "US": ("1", [(p, 7) for p in ["212", "305", "312", "415", "617", "646", "718", "202", "512", "206", "303", "404"]]),
}

POSTAL_GB = [
    "SW1A 1AA",
    "EC1A 1BB",
    "W1A 0AX",
    "M1 1AE",
    "B33 8TH",
    "CR2 6XH",
    "LS1 4AP",
    "EH1 1YZ",
    "G2 3AB",
    "BS1 4DJ",
]

GARBAGE_PHONES = ["12345", "n/a", "0", "+420 123", "tel. unbekannt", "111"]
GARBAGE_ENTRIES = ["abc", "n/a", "zwei", "5x", "?"]
CONSENT_WORDS = {
    "zenamu": (
        ["yes", "no", "ano", "ne", "x", "", "1", "0", "ja", "true", "maybe"],
        [0.24, 0.14, 0.15, 0.09, 0.08, 0.21, 0.03, 0.02, 0.02, 0.015, 0.005],
    ),
    "german": (
        ["ja", "nein", "x", "", "1", "0", "j", "n", "vielleicht"],
        [0.30, 0.22, 0.08, 0.30, 0.04, 0.03, 0.01, 0.015, 0.005],
    ),
}

# Row categories: drawn once per row.
NORMAL, NOEMAIL, MERGE, DUP, BAD_EMAIL, NEG_CREDITS, NO_NAME, BAD_ENTRIES = range(8)
CATEGORY_NAMES = [
    "normal",
    "no_email_no_balance",
    "merged",
    "duplicate_row",
    "email_invalid",
    "balance_negative",
    "name_missing",
    "entries_invalid",
]
CATEGORY_P = [0.0, 0.02, 0.01, 0.005, 0.005, 0.005, 0.005, 0.005]
CATEGORY_P[0] = 1.0 - sum(CATEGORY_P)

LAYOUT_COLUMNS = {
    "zenamu": [
        "name and surname",
        "email",
        "entries",
        "credits",
        "phone",
        "consent",
        "birth date",
        "postal code",
        "customer id",
    ],
    "german": [
        "Kundennummer",
        "Anrede",
        "Vorname",
        "Nachname",
        "E-Mail",
        "Telefon",
        "Geburtsdatum",
        "PLZ",
        "Eintritte",
        "Guthaben",
        "Newsletter",
    ],
}


def ascii_slug(s: str) -> str:
    """Email-friendly form of a name: German umlauts spelt out, other accents dropped."""
    s = s.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    s = s.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    s = s.translate(str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ı": "i", "đ": "d"}))
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(ch for ch in s.lower() if ch.isalnum())


def _encodable(s: str, encoding: str) -> bool:
    try:
        s.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def _name_tables(encoding: str):
    """Flat arrays of names plus per-country offsets/lengths, filtered to the encoding."""
    tables = {k: [] for k in ("female", "male", "last_m", "last_f")}
    offsets = {k: [] for k in tables}
    lengths = {k: [] for k in tables}
    for cc in COUNTRIES:
        d = NAMES[cc]
        pairs = [(x.split("/") + [x])[:2] if "/" in x else [x, x] for x in d["last"]]
        lists = {
            "female": d["female"],
            "male": d["male"],
            "last_m": [m for m, f in pairs],
            "last_f": [f for m, f in pairs],
        }
        # keep male/female surname pairs aligned after filtering
        keep = [i for i, (m, f) in enumerate(pairs) if _encodable(m, encoding) and _encodable(f, encoding)]
        lists["last_m"] = [lists["last_m"][i] for i in keep]
        lists["last_f"] = [lists["last_f"][i] for i in keep]
        for k in ("female", "male"):
            lists[k] = [x for x in lists[k] if _encodable(x, encoding)]
        for k, lst in lists.items():
            if not lst:
                raise ValueError(f"no {k} names for {cc} survive encoding {encoding}")
            offsets[k].append(len(tables[k]))
            lengths[k].append(len(lst))
            tables[k].extend(lst)
    return tables, {k: np.array(v) for k, v in offsets.items()}, {k: np.array(v) for k, v in lengths.items()}


def _pick(rng, country_idx: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per row, a uniform index into that row's country slice of a flat table."""
    u = rng.random(country_idx.shape[0])
    return offsets[country_idx] + (u * lengths[country_idx]).astype(np.int64)


def _choice(rng, options, p, n) -> np.ndarray:
    return rng.choice(len(options), size=n, p=np.asarray(p, dtype=float) / np.sum(p))


def _lit_series(values: list[str], idx: np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, values, dtype=pl.String).gather(pl.Series(idx, dtype=pl.UInt32))


def _zfill(col: pl.Expr, width: int) -> pl.Expr:
    return col.cast(pl.String).str.zfill(width)


def build_frame(rows: int, layout: str = "zenamu", encoding: str = "utf-8", seed: int = 1):
    """Return (formatted string DataFrame, numeric side DataFrame, meta dict)."""
    rng = np.random.default_rng(seed)
    n = int(rows)
    enc_check = "cp1252" if encoding.lower().replace("-", "") in ("cp1252", "windows1252") else "utf-8"
    tables, offs, lens = _name_tables(enc_check)

    # ---- categories -----------------------------------------------------------------
    cat = rng.choice(len(CATEGORY_P), size=n, p=CATEGORY_P).astype(np.int8)
    if n >= 50:
        cat[:5] = NORMAL  # a merged/duplicate row needs a source before it, keep the top clean
    country = _choice(rng, COUNTRIES, COUNTRY_WEIGHTS[layout], n)
    female = rng.random(n) < 0.62  # studios: more women than men

    first_idx_f = _pick(rng, country, offs["female"], lens["female"])
    first_idx_m = _pick(rng, country, offs["male"], lens["male"])
    last_idx = _pick(rng, country, offs["last_m"], lens["last_m"])

    first_ascii = [ascii_slug(x) for x in tables["female"]], [ascii_slug(x) for x in tables["male"]]
    last_ascii_m = [ascii_slug(x) for x in tables["last_m"]]
    last_ascii_f = [ascii_slug(x) for x in tables["last_f"]]

    # ---- domains ---------------------------------------------------------------------
    dom_flat, dom_off, dom_len = [], [], []
    for cc in COUNTRIES:
        dom_off.append(len(dom_flat))
        dom_len.append(len(DOMAINS[cc]))
        dom_flat.extend(DOMAINS[cc])
    dom_idx = _pick(rng, country, np.array(dom_off), np.array(dom_len))

    # ---- phones ----------------------------------------------------------------------
    plan_cc, plan_prefix, plan_sublen, p_off, p_len = [], [], [], [], []
    for cc in COUNTRIES:
        code, plans = PHONE_PLANS[cc]
        p_off.append(len(plan_prefix))
        p_len.append(len(plans))
        for prefix, sublen in plans:
            plan_cc.append(code)
            plan_prefix.append(prefix)
            plan_sublen.append(sublen)
    plan_idx = _pick(rng, country, np.array(p_off), np.array(p_len))
    sublen = np.array(plan_sublen)[plan_idx]
    # subscriber numbers start with 2-9 (landlines and US exchanges must not start with 0/1)
    sub_num = (10.0 ** (sublen - 1) * (2 + 8 * rng.random(n))).astype(np.int64)
    phone_notation = rng.integers(0, 5, n)
    phone_blank = rng.random(n) < 0.18
    phone_garbage = (rng.random(n) < 0.003) & ~phone_blank
    garbage_phone_idx = rng.integers(0, len(GARBAGE_PHONES), n)
    de_at_zero = rng.random(n) < 0.15  # "+49 (0)151 …"

    # ---- balances (numeric, before formatting) ----------------------------------------
    entries = np.where(rng.random(n) < 0.45, 0, rng.integers(1, 21, n)).astype(np.int64)
    entries_blank = (entries == 0) & (rng.random(n) < 0.6)
    packages = np.array([100, 150, 200, 250, 300, 350, 500, 750, 1000, 1200, 1500, 2000, 2500, 3000])
    credits_cents = packages[rng.integers(0, len(packages), n)] * 100
    with_cents = rng.random(n) < 0.3
    cents_part = np.where(rng.random(n) < 0.5, 50, rng.integers(1, 100, n))
    credits_cents = credits_cents + np.where(with_cents, cents_part, 0)
    r = rng.random(n)
    credits_state = np.where(r < 0.45, 0, np.where(r < 0.53, 1, 2))  # 0 blank, 1 zero, 2 amount
    credits_cents = np.where(credits_state == 2, credits_cents, 0)

    # ---- merged repeats and exact duplicates copy a clean earlier row ----------------
    sources_ok = np.flatnonzero(cat == NORMAL)
    idx_all = np.arange(n, dtype=np.int64)
    # An exact duplicate copies a normal row before it (several may copy the same one).
    rows_k = np.flatnonzero(cat == DUP)
    if rows_k.size:
        before = np.searchsorted(sources_ok, rows_k)  # how many normal rows precede each one
        pick = (rng.random(rows_k.size) * np.maximum(before, 1)).astype(np.int64)
        idx_all[rows_k] = sources_ok[np.minimum(pick, sources_ok.size - 1)]
    # A merged repeat gets a source of its own (no two repeats of one client, or two of
    # them could be identical and count as duplicate_row); the source is usually, not
    # always, earlier in the file, which changes nothing: the first row seen is the client.
    rows_k = np.flatnonzero(cat == MERGE)
    if rows_k.size:
        src = np.sort(rng.choice(sources_ok, size=min(rows_k.size, sources_ok.size), replace=False))
        idx_all[rows_k[: src.size]] = src

    # Categories that need particular balances
    merge = cat == MERGE
    credits_state = np.where(merge | (cat == BAD_EMAIL) | (cat == NEG_CREDITS), 2, credits_state)
    credits_cents = np.where(
        (credits_state == 2) & (credits_cents == 0),
        packages[rng.integers(0, 8, n)] * 100,
        credits_cents,
    )
    # a merged row carries more credits than its source, so it never equals it
    extra = packages[rng.integers(0, 8, n)] * 100
    credits_cents = np.where(merge, credits_cents[idx_all] + extra, credits_cents)
    noemail = cat == NOEMAIL
    entries = np.where(noemail, 0, entries)
    entries_blank = entries_blank | noemail
    credits_state = np.where(noemail, 0, credits_state)
    credits_cents = np.where(noemail, 0, credits_cents)

    # ---- dates, postal codes, ids -----------------------------------------------------
    birth_days = rng.integers(-7305, 14245, n)  # 1950-01-01 .. 2008-12-31 as days since epoch
    birth_blank = rng.random(n) < 0.35
    date_style = _choice(
        rng, range(5), [0.25, 0.5, 0.15, 0.08, 0.02] if layout == "zenamu" else [0.05, 0.9, 0.0, 0.03, 0.02], n
    )
    postal_num = rng.integers(0, 100_000, n)
    postal_blank = rng.random(n) < 0.3
    gb_postal_idx = rng.integers(0, len(POSTAL_GB), n)

    consent_words, consent_p = CONSENT_WORDS[layout]
    consent_idx = _choice(rng, consent_words, consent_p, n)

    style = rng.integers(0, 5, n)  # email local-part style
    email_case = rng.random(n)  # a few typed with capitals or stray spaces
    amount_style = rng.integers(0, 4, n)
    bad_email_kind = rng.integers(0, 4, n)
    garbage_entries_idx = rng.integers(0, len(GARBAGE_ENTRIES), n)

    df = pl.DataFrame(
        {
            "i": np.arange(n, dtype=np.int64),
            "cat": cat,
            "country": country.astype(np.int8),
            "female": female,
            "first_f": _lit_series(tables["female"], first_idx_f, "a"),
            "first_m": _lit_series(tables["male"], first_idx_m, "b"),
            "first_f_a": _lit_series(first_ascii[0], first_idx_f, "c"),
            "first_m_a": _lit_series(first_ascii[1], first_idx_m, "d"),
            "last_m": _lit_series(tables["last_m"], last_idx, "e"),
            "last_f": _lit_series(tables["last_f"], last_idx, "f"),
            "last_m_a": _lit_series(last_ascii_m, last_idx, "g"),
            "last_f_a": _lit_series(last_ascii_f, last_idx, "h"),
            "domain": _lit_series(dom_flat, dom_idx, "k"),
            "cc": _lit_series(plan_cc, plan_idx, "l"),
            "prefix": _lit_series(plan_prefix, plan_idx, "m"),
            "sublen": sublen.astype(np.int8),
            "sub_num": sub_num,
            "phone_notation": phone_notation.astype(np.int8),
            "phone_blank": phone_blank,
            "phone_garbage": phone_garbage,
            "garbage_phone": _lit_series(GARBAGE_PHONES, garbage_phone_idx, "n"),
            "de_at_zero": de_at_zero,
            "entries": entries,
            "entries_blank": entries_blank,
            "credits_cents": credits_cents,
            "credits_state": credits_state.astype(np.int8),
            "birth": pl.Series(birth_days, dtype=pl.Int32).cast(pl.Date),
            "birth_blank": birth_blank,
            "date_style": date_style.astype(np.int8),
            "postal_num": postal_num,
            "postal_blank": postal_blank,
            "gb_postal": _lit_series(POSTAL_GB, gb_postal_idx, "o"),
            "consent": _lit_series(consent_words, consent_idx, "p"),
            "style": style.astype(np.int8),
            "email_case": email_case,
            "amount_style": amount_style.astype(np.int8),
            "bad_email_kind": bad_email_kind.astype(np.int8),
            "garbage_entries": _lit_series(GARBAGE_ENTRIES, garbage_entries_idx, "q"),
        }
    )

    c = pl.col
    cc_is = lambda code: c("country") == COUNTRIES.index(code)  # noqa: E731

    first = pl.when(c("female")).then(c("first_f")).otherwise(c("first_m"))
    last = pl.when(c("female")).then(c("last_f")).otherwise(c("last_m"))
    first_a = pl.when(c("female")).then(c("first_f_a")).otherwise(c("first_m_a"))
    last_a = pl.when(c("female")).then(c("last_f_a")).otherwise(c("last_m_a"))
    # materialise shared pieces once: polars evaluates every when/then branch for every row,
    # so nesting these expressions repeats the work
    df = df.with_columns(
        first.alias("_first"),
        last.alias("_last"),
        first_a.alias("_first_a"),
        last_a.alias("_last_a"),
        c("sub_num").cast(pl.String).str.zfill(c("sublen").cast(pl.Int64)).alias("_sub"),
    )
    first, last, first_a, last_a = c("_first"), c("_last"), c("_first_a"), c("_last_a")
    num = (c("i") + 1).cast(pl.String)
    local = (
        pl.when(c("style") == 0)
        .then(pl.concat_str([first_a, pl.lit("."), last_a, num]))
        .when(c("style") == 1)
        .then(pl.concat_str([first_a.str.slice(0, 1), last_a, num]))
        .when(c("style") == 2)
        .then(pl.concat_str([first_a, pl.lit("_"), last_a, num]))
        .when(c("style") == 3)
        .then(pl.concat_str([first_a, last_a, num]))
        .otherwise(pl.concat_str([last_a, pl.lit("."), first_a, num]))
    )
    df = df.with_columns(local.alias("_local"))
    local = c("_local")
    email = pl.concat_str([local, pl.lit("@"), c("domain")])
    email = (
        pl.when(c("email_case") < 0.03)
        .then(pl.concat_str([email.str.slice(0, 1).str.to_uppercase(), email.str.slice(1)]))
        .when(c("email_case") > 0.99)
        .then(pl.concat_str([pl.lit(" "), email, pl.lit(" ")]))
        .otherwise(email)
    )
    df = df.with_columns(email.alias("_email"))
    email = c("_email")

    # phones
    sub = c("_sub")
    sub_grouped = (
        pl.when(c("sublen") == 6)
        .then(pl.concat_str([sub.str.slice(0, 3), pl.lit(" "), sub.str.slice(3, 3)]))
        .otherwise(sub)
    )
    intl_spaced = pl.concat_str([pl.lit("+"), c("cc"), pl.lit(" "), c("prefix"), pl.lit(" "), sub_grouped])
    zero_zero = pl.concat_str([pl.lit("00"), c("cc"), c("prefix"), sub])
    plus_compact = pl.concat_str([pl.lit("+"), c("cc"), c("prefix"), sub])
    us_style = pl.concat_str(
        [pl.lit("+1 ("), c("prefix"), pl.lit(") "), sub.str.slice(0, 3), pl.lit("-"), sub.str.slice(3, 4)]
    )
    de_zero = pl.concat_str([pl.lit("+"), c("cc"), pl.lit(" (0)"), c("prefix"), pl.lit(" "), sub])
    cz_national = pl.concat_str([c("prefix"), pl.lit(" "), sub_grouped])
    cz_digits = pl.concat_str([c("prefix"), sub])
    zero_zero_spaced = pl.concat_str([pl.lit("00"), c("cc"), pl.lit(" "), c("prefix"), pl.lit(" "), sub])
    nota = c("phone_notation")
    phone = (
        pl.when(c("phone_blank"))
        .then(pl.lit(""))
        .when(c("phone_garbage"))
        .then(c("garbage_phone"))
        .when(nota == 0)
        .then(intl_spaced)
        .when(nota == 1)
        .then(zero_zero)
        .when(nota == 2)
        .then(plus_compact)
        .when(cc_is("CZ") & (nota == 3))
        .then(cz_national)
        .when(cc_is("CZ"))
        .then(cz_digits)
        .when(cc_is("US") & (nota == 3))
        .then(us_style)
        .when((cc_is("DE") | cc_is("AT")) & c("de_at_zero"))
        .then(de_zero)
        .otherwise(zero_zero_spaced)
    )

    # amounts
    ip = c("credits_cents") // 100
    cents = _zfill(c("credits_cents") % 100, 2)
    ip_s = ip.cast(pl.String)
    big = ip >= 1000
    thou = (ip // 1000).cast(pl.String)
    rest = _zfill(ip % 1000, 3)
    has_cents = (c("credits_cents") % 100) != 0
    if layout == "zenamu":
        amount = (
            pl.when(~has_cents & (c("amount_style") == 0))
            .then(ip_s)
            .when(~has_cents & big & (c("amount_style") == 1))
            .then(pl.concat_str([thou, pl.lit(" "), rest]))
            .when(~has_cents & (c("amount_style") == 2))
            .then(pl.concat_str([ip_s, pl.lit(",00")]))
            .when(~has_cents)
            .then(ip_s)
            .when(c("amount_style") <= 1)
            .then(pl.concat_str([ip_s, pl.lit("."), cents]))
            .when(big & (c("amount_style") == 2))
            .then(pl.concat_str([thou, pl.lit(" "), rest, pl.lit(","), cents]))
            .otherwise(pl.concat_str([ip_s, pl.lit(","), cents]))
        )
    else:
        amount = (
            pl.when(big & (c("amount_style") <= 1))
            .then(pl.concat_str([thou, pl.lit("."), rest, pl.lit(","), cents]))
            .when(~has_cents & (c("amount_style") == 3))
            .then(ip_s)
            .otherwise(pl.concat_str([ip_s, pl.lit(","), cents]))
        )
    credits = (
        pl.when(c("credits_state") == 0)
        .then(pl.lit(""))
        .when(c("credits_state") == 1)
        .then(pl.lit("0" if layout == "zenamu" else "0,00"))
        .otherwise(amount)
    )
    credits = pl.when(c("cat") == NEG_CREDITS).then(pl.concat_str([pl.lit("-"), credits])).otherwise(credits)
    entries_s = pl.when(c("entries_blank")).then(pl.lit("")).otherwise(c("entries").cast(pl.String))
    entries_s = pl.when(c("cat") == BAD_ENTRIES).then(c("garbage_entries")).otherwise(entries_s)

    # dates
    ds = c("date_style")
    birth = (
        pl.when(c("birth_blank"))
        .then(pl.lit(""))
        .when(ds == 0)
        .then(c("birth").dt.strftime("%Y-%m-%d"))
        .when(ds == 1)
        .then(c("birth").dt.strftime("%d.%m.%Y"))
        .when(ds == 2)
        .then(c("birth").dt.strftime("%d/%m/%Y"))
        .when(ds == 3)
        .then(
            pl.concat_str(
                [
                    c("birth").dt.day().cast(pl.String),
                    pl.lit("."),
                    c("birth").dt.month().cast(pl.String),
                    pl.lit("."),
                    c("birth").dt.year().cast(pl.String),
                ]
            )
        )
        .otherwise(pl.concat_str([pl.lit("31.02."), c("birth").dt.year().cast(pl.String)]))  # impossible
    )

    # postal codes
    pn = c("postal_num")
    postal = (
        pl.when(c("postal_blank"))
        .then(pl.lit(""))
        .when(cc_is("CZ"))
        .then(
            pl.concat_str(
                [
                    _zfill(10_000 + pn % 80_000, 5).str.slice(0, 3),
                    pl.when(pn % 3 == 0).then(pl.lit("")).otherwise(pl.lit(" ")),
                    _zfill(10_000 + pn % 80_000, 5).str.slice(3, 2),
                ]
            )
        )
        .when(cc_is("DE"))
        .then(_zfill(1_067 + pn % 98_000, 5))
        .when(cc_is("AT"))
        .then((1_010 + pn % 8_980).cast(pl.String))
        .when(cc_is("PL"))
        .then(pl.concat_str([_zfill(pn % 100, 2), pl.lit("-"), _zfill(pn % 1000, 3)]))
        .when(cc_is("GB"))
        .then(c("gb_postal"))
        .otherwise(_zfill(pn, 5))
    )

    # invalid emails (with a balance) and missing names
    local_only = local
    bad_email = (
        pl.when(c("bad_email_kind") == 0)
        .then(email.str.replace("@", "@@", literal=True))
        .when(c("bad_email_kind") == 1)
        .then(pl.concat_str([local_only, pl.lit(" at "), c("domain")]))
        .when(c("bad_email_kind") == 2)
        .then(pl.concat_str([local_only, pl.lit("@"), c("domain").str.split(".").list.first()]))
        .otherwise(pl.concat_str([local_only, pl.lit("."), c("domain")]))
    )
    email = pl.when(c("cat") == NOEMAIL).then(pl.lit("")).when(c("cat") == BAD_EMAIL).then(bad_email).otherwise(email)
    no_name = c("cat") == NO_NAME

    if layout == "zenamu":
        full = pl.concat_str([first, pl.lit(" "), last])
        out_exprs = [
            pl.when(no_name).then(pl.lit("")).otherwise(full).alias("name and surname"),
            email.alias("email"),
            entries_s.alias("entries"),
            credits.alias("credits"),
            phone.alias("phone"),
            c("consent").alias("consent"),
            birth.alias("birth date"),
            postal.alias("postal code"),
            _zfill(c("i") + 1, 7).alias("customer id"),
        ]
        identity_cols = ["name and surname", "email", "phone", "consent", "birth date", "postal code", "customer id"]
    else:
        out_exprs = [
            pl.concat_str([pl.lit("K-"), _zfill(c("i") + 1, 7)]).alias("Kundennummer"),
            pl.when(no_name)
            .then(pl.lit(""))
            .when(c("female"))
            .then(pl.lit("Frau"))
            .otherwise(pl.lit("Herr"))
            .alias("Anrede"),
            pl.when(no_name).then(pl.lit("")).otherwise(first).alias("Vorname"),
            pl.when(no_name).then(pl.lit("")).otherwise(last).alias("Nachname"),
            email.alias("E-Mail"),
            phone.alias("Telefon"),
            birth.alias("Geburtsdatum"),
            postal.alias("PLZ"),
            entries_s.alias("Eintritte"),
            credits.alias("Guthaben"),
            c("consent").alias("Newsletter"),
        ]
        identity_cols = [
            "Kundennummer",
            "Anrede",
            "Vorname",
            "Nachname",
            "E-Mail",
            "Telefon",
            "Geburtsdatum",
            "PLZ",
            "Newsletter",
        ]

    out = df.select(out_exprs)
    side = df.select(
        c("entries"),
        c("entries_blank"),
        c("credits_cents"),
        c("credits_state"),
        c("birth"),
        c("birth_blank"),
        c("date_style"),
        c("cat"),
    )

    # ---- copy identity (and, for exact duplicates, everything) from the source rows ---
    dup_mask = cat == DUP
    merge_mask = cat == MERGE
    idx_dup = np.where(dup_mask, idx_all, np.arange(n))
    idx_id = np.where(dup_mask | merge_mask, idx_all, np.arange(n))
    gather_dup = pl.Series(idx_dup, dtype=pl.UInt32)
    gather_id = pl.Series(idx_id, dtype=pl.UInt32)
    out = out.select(
        [
            pl.col(col).gather(gather_id) if col in identity_cols else pl.col(col).gather(gather_dup)
            for col in out.columns
        ]
    )
    side = side.with_columns(
        [
            pl.col(col).gather(gather_id if col.startswith(("birth", "date")) else gather_dup)
            for col in side.columns
            if col != "cat"
        ]
    )

    counts = {name: int((cat == k).sum()) for k, name in enumerate(CATEGORY_NAMES)}
    errors = counts["email_invalid"] + counts["balance_negative"] + counts["name_missing"] + counts["entries_invalid"]
    meta = {
        "rows": n,
        "layout": layout,
        "encoding": encoding,
        "seed": seed,
        "categories": counts,
        "expected": {
            "rows.read": n,
            "rows.rejected": errors,
            "rows.merged": counts["merged"],
            "rows.duplicate": counts["duplicate_row"],
            "rows.valid": n - errors - counts["merged"] - counts["duplicate_row"],
        },
        "note": "expected counts assume docs/CONTRACT.md §3/§4; invalid phones, impossible dates and "
        "unknown consent words add warnings only",
    }
    return out, side, meta


def write_csv(out: pl.DataFrame, path: Path, encoding: str, delimiter: str, crlf: bool) -> None:
    # empty cells are written bare (polars would quote an empty string as "")
    out = out.with_columns(
        pl.when(pl.col(col).str.len_bytes() == 0).then(None).otherwise(pl.col(col)).alias(col) for col in out.columns
    )
    text = out.write_csv(
        separator=delimiter, quote_style="necessary", null_value="", line_terminator="\r\n" if crlf else "\n"
    )
    enc = encoding.lower()
    if enc in ("utf-8", "utf8"):
        data = text.encode("utf-8")
    elif enc in ("utf-8-sig", "utf8-sig"):
        data = text.encode("utf-8-sig")
    else:
        data = text.encode(encoding)  # raises on a character the code page cannot hold
    path.write_bytes(data)


def write_xlsx(out: pl.DataFrame, side: pl.DataFrame, path: Path, layout: str) -> None:
    """Cells typed as a spreadsheet user would have them: numbers, dates, text phones."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Kunden" if layout == "german" else "Clients")
    cols = out.columns
    ws.append(cols)
    entries_col = cols.index("entries" if layout == "zenamu" else "Eintritte")
    credits_col = cols.index("credits" if layout == "zenamu" else "Guthaben")
    phone_col = cols.index("phone" if layout == "zenamu" else "Telefon")
    birth_col = cols.index("birth date" if layout == "zenamu" else "Geburtsdatum")
    s_ent = side["entries"].to_list()
    s_entb = side["entries_blank"].to_list()
    s_cc = side["credits_cents"].to_list()
    s_cs = side["credits_state"].to_list()
    s_birth = side["birth"].to_list()
    s_bb = side["birth_blank"].to_list()
    s_ds = side["date_style"].to_list()
    s_cat = side["cat"].to_list()
    for i, row in enumerate(out.iter_rows()):
        cells = [v if v != "" else None for v in row]
        cat = s_cat[i]
        if cat != BAD_ENTRIES and not s_entb[i]:
            cells[entries_col] = s_ent[i]
        if cat != NEG_CREDITS and s_cs[i] != 0:
            cents = s_cc[i]
            cells[credits_col] = cents // 100 if cents % 100 == 0 else cents / 100
        if not s_bb[i] and s_ds[i] in (0, 1) and s_birth[i].toordinal() % 5:
            cells[birth_col] = s_birth[i]  # a real Excel date; the rest stay as typed text
        ph = cells[phone_col]
        if ph and ph.isdigit() and not ph.startswith("0"):
            cells[phone_col] = int(ph)  # a phone someone typed into a number cell
        ws.append(cells)
    wb.save(path)


def generate(
    rows: int,
    out: Path,
    fmt: str | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    seed: int = 1,
    layout: str = "auto",
) -> dict:
    """Write the file and `<out>.meta.json`; return the meta dict (with timing)."""
    t0 = time.perf_counter()
    out = Path(out)
    fmt = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    if layout == "auto":
        layout = "german" if encoding.lower().replace("-", "") in ("cp1252", "windows1252") else "zenamu"
    if delimiter is None:
        delimiter = ";" if layout == "german" else ","
    frame, side, meta = build_frame(rows, layout=layout, encoding=encoding, seed=seed)
    t_build = time.perf_counter() - t0
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        write_xlsx(frame, side, out, layout)
        meta.update(format="xlsx", encoding=None, delimiter=None)
    else:
        write_csv(frame, out, encoding, delimiter, crlf=(layout == "german"))
        meta.update(format="csv", delimiter=delimiter)
    meta["seconds"] = {"build": round(t_build, 3), "total": round(time.perf_counter() - t0, 3)}
    meta["bytes"] = out.stat().st_size
    meta["file"] = str(out)
    Path(str(out) + ".meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--format", choices=("csv", "xlsx"), default=None, help="default: from the file suffix")
    ap.add_argument("--encoding", default="utf-8", help="utf-8 (default), utf-8-sig or cp1252")
    ap.add_argument("--delimiter", default=None, help="default: ',' (zenamu) or ';' (german)")
    ap.add_argument(
        "--layout",
        choices=("auto", "zenamu", "german"),
        default="auto",
        help="auto: german headers for cp1252, zenamu otherwise",
    )
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    if a.rows < 1:
        ap.error("--rows must be at least 1")
    meta = generate(a.rows, a.out, a.format, a.encoding, a.delimiter, a.seed, a.layout)
    print(
        f"wrote {meta['file']}: {meta['rows']} rows, {meta['bytes'] / 1e6:.1f} MB, "
        f"{meta['seconds']['total']:.2f} s; expected {json.dumps(meta['expected'])}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
