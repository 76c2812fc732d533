"""The LA directory: the data a coordinator relies on, and how LAs are recognised in what people write."""

from __future__ import annotations

import csv
import json
import re

import pytest

from models.la_directory import DATA_PATH, Directory, LocalAuthority, load_directory
from tests.conftest import SHARED

LONDON = [
    "Barnet", "Barking and Dagenham", "Bexley", "Brent", "Camden", "City of London", "Croydon", "Ealing",
    "Enfield", "Greenwich", "Hammersmith and Fulham", "Haringey", "Harrow", "Havering", "Hillingdon",
    "Islington", "Kensington and Chelsea", "Kingston-upon-Thames", "Lambeth", "Lewisham", "Newham",
    "Richmond-upon-Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest", "Wandsworth",
    "Westminster",
]  # fmt: skip
NATIONAL = [
    "Barnsley", "Bedford", "Birmingham", "Central Bedfordshire", "Cheshire East", "Coventry", "Derby",
    "Derbyshire", "Hartlepool", "Hertfordshire", "Leicester", "Leicestershire", "Lincolnshire", "Luton",
    "Manchester", "Northamptonshire", "North Yorkshire", "Nottingham", "Nottinghamshire", "Peterborough",
    "Redcar and Cleveland", "Rutland", "Sandwell", "Shropshire", "Staffordshire", "Solihull", "Stockport",
    "Stoke-on-Trent", "Trafford", "Wakefield", "Walsall", "Warwickshire", "Warrington", "Wolverhampton",
    "Worcestershire", "York",
]  # fmt: skip


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory()


def found(directory: Directory, text: str) -> list[tuple[str, str, bool]]:
    """(canonical name, text as written, explicit) for each mention, in order."""
    return [(m.authority.name, m.text, m.explicit) for m in directory.find(text)]


# --- the data -------------------------------------------------------------------------------------


def test_served_las_are_exactly_missions_64_with_its_spellings(directory: Directory) -> None:
    served = directory.served
    assert len(served) == 64
    assert sorted(la.name for la in served if la.region == "london") == sorted(LONDON)
    assert sorted(la.name for la in served if la.region == "national") == sorted(NATIONAL)
    assert all(la.in_england for la in served)
    # The national office covers the East of England, the Midlands, the North and Yorkshire only.
    assert {la.english_region for la in served if la.region == "national"} <= {
        "East of England", "East Midlands", "West Midlands", "North West", "North East", "Yorkshire and The Humber",
    }  # fmt: skip


def test_served_list_is_the_one_in_mission_md(directory: Directory) -> None:
    mission = SHARED / "MISSION.md"
    if not mission.exists():
        pytest.skip(f"{mission} is not here: shared material is only present beside the repo")
    text = mission.read_text(encoding="utf-8")
    for region, expected in (("london", LONDON), ("national", NATIONAL)):
        block = re.search(rf"\*\*{region}\*\*:(.*?)\.\n", text, re.S)
        assert block is not None, f"MISSION.md has no **{region}** list"
        names = [n.strip() for n in " ".join(block.group(1).split()).split(",")]
        assert sorted(names) == sorted(expected)
        assert all(directory.get(n) is not None and directory.get(n).region == region for n in names)


def test_every_english_sen_authority_in_the_dfe_list_is_there(directory: Directory) -> None:
    path = SHARED / "data" / "english_local_authorities.csv"
    if not path.exists():
        pytest.skip(f"{path} is not here: shared material is only present beside the repo")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 153
    for row in rows:
        la = directory.lookup(row["la_name"])
        assert la is not None, row["la_name"]
        assert la.country == "england"
        assert row["ons_code"] in la.ons_codes, row["la_name"]
        assert row["dfe_code"] in la.dfe_codes, row["la_name"]
        assert la.english_region == row["region"]
        assert directory.by_code(row["ons_code"]) is la
        assert directory.by_code(row["dfe_code"]) is la
    # Nothing English beyond the DfE list: 153 rows, the two Northamptonshires being one entry.
    english = [la for la in directory.authorities if la.in_england]
    assert len(english) == 152
    assert {c for la in english for c in la.ons_codes} == {row["ons_code"] for row in rows}


def test_northamptonshire_is_one_served_la_for_both_unitaries(directory: Directory) -> None:
    la = directory.get("Northamptonshire")
    assert la is not None and la.served and la.region == "national"
    assert set(la.ons_codes) == {"E06000061", "E06000062"}
    for written in ("North Northamptonshire", "West Northamptonshire", "West Northants", "Northants"):
        assert directory.lookup(written) is la


def test_wales_scotland_and_northern_ireland_are_never_served(directory: Directory) -> None:
    by_country: dict[str, list[LocalAuthority]] = {}
    for la in directory.authorities:
        by_country.setdefault(la.country, []).append(la)
    assert len(by_country["wales"]) == 22
    assert len(by_country["scotland"]) == 32
    assert set(by_country) <= {"england", "wales", "scotland", "northern_ireland"}
    for country in ("wales", "scotland", "northern_ireland"):
        for la in by_country.get(country, []):
            assert not la.served and la.region is None and not la.in_england, la.name
    assert all(la.ons_codes[0].startswith("W06") for la in by_country["wales"])
    assert all(la.ons_codes[0].startswith("S12") for la in by_country["scotland"])


def test_data_file_is_hand_editable_one_object_per_authority_sorted_by_name() -> None:
    data = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    names = [e["name"] for e in data["authorities"]]
    assert names == sorted(names, key=str.casefold)
    assert len(names) == len(set(names))
    for entry in data["authorities"]:
        assert {"name", "country", "served", "region", "english_region", "aliases"} <= entry.keys()
        assert isinstance(entry["served"], bool) and isinstance(entry["aliases"], list)
        assert entry["region"] in (("london", "national") if entry["served"] else (None,)), entry["name"]
    # Ambiguous forms are deliberately absent: they would route a family to the wrong office.
    aliases = {a for e in data["authorities"] for a in e["aliases"]}
    assert not aliases & {"HCC", "Beds", "Cheshire", "Achieving for Children", "London", "Brum", "Wolves"}


def test_an_alias_claimed_by_two_authorities_is_refused() -> None:
    def la(name: str, aliases: tuple[str, ...]) -> LocalAuthority:
        return LocalAuthority(name, "england", False, None, None, (), None, aliases)

    with pytest.raises(ValueError, match="Beds"):
        Directory([la("Bedford", ("Beds",)), la("Central Bedfordshire", ("Beds",))])


def test_directory_is_loaded_once(directory: Directory) -> None:
    assert load_directory() is directory


# --- lookup: one value as a person typed it ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("LB Camden", "Camden"),
        ("London Borough of Hammersmith & Fulham", "Hammersmith and Fulham"),
        ("H&F", "Hammersmith and Fulham"),
        ("RBKC", "Kensington and Chelsea"),
        ("Royal Borough of Greenwich", "Greenwich"),
        ("Richmond upon Thames", "Richmond-upon-Thames"),
        ("Kingston upon Thames", "Kingston-upon-Thames"),
        ("Notts County Council", "Nottinghamshire"),
        ("Nottingham City Council", "Nottingham"),
        ("Derby City", "Derby"),
        ("Derbyshire County Council", "Derbyshire"),
        ("Herts", "Hertfordshire"),
        ("Leics", "Leicestershire"),
        ("Stoke", "Stoke-on-Trent"),
        ("City of York Council", "York"),
        ("Redcar & Cleveland", "Redcar and Cleveland"),
        ("West Northamptonshire", "Northamptonshire"),
        ("Warington Borough Council", "Warrington"),
        ("Council - Warington Borough Council", "Warrington"),
        ("Leicstershire", "Leicestershire"),
        ("hammersmith and fulham council", "Hammersmith and Fulham"),
        ("  Tower-Hamlets  ", "Tower Hamlets"),
        ("Bristol, City of", "Bristol"),
        ("St. Helens", "St Helens"),
    ],
)
def test_lookup_understands_how_people_write_an_la(directory: Directory, typed: str, canonical: str) -> None:
    la = directory.lookup(typed)
    assert la is not None and la.name == canonical


def test_lookup_of_an_unserved_council_says_so(directory: Directory) -> None:
    cardiff = directory.lookup("Cardiff")
    assert cardiff is not None and cardiff.name == "Cardiff" and cardiff.country == "wales" and not cardiff.served
    surrey = directory.lookup("Surrey County Council")
    assert surrey is not None and surrey.name == "Surrey" and surrey.in_england and not surrey.served


@pytest.mark.parametrize("typed", ["", "London", "Beds", "Cheshire", "HCC", "Achieving for Children", "Stafford"])
def test_lookup_refuses_to_guess(directory: Directory, typed: str) -> None:
    assert directory.lookup(typed) is None


def test_get_is_exact_on_the_canonical_name(directory: Directory) -> None:
    assert directory.get("Kingston-upon-Thames") is not None
    assert directory.get("Kingston upon Thames") is None


# --- find: mentions in free text ---------------------------------------------------------------------


def test_find_returns_spans_in_order_with_the_text_as_written(directory: Directory) -> None:
    text = "We moved from LB Camden to the Royal Borough of Greenwich, then to Notts."
    mentions = directory.find(text)
    assert [(m.authority.name, m.text) for m in mentions] == [
        ("Camden", "LB Camden"),
        ("Greenwich", "Royal Borough of Greenwich"),
        ("Nottinghamshire", "Notts"),
    ]
    assert all(text[m.start : m.end] == m.text for m in mentions)


def test_explicit_is_set_when_the_mention_says_it_is_the_council(directory: Directory) -> None:
    assert found(directory, "Newham refused; Newham Council wrote; the Newham SEN team called.") == [
        ("Newham", "Newham", False),
        ("Newham", "Newham Council", True),
        ("Newham", "Newham SEN team", True),
    ]
    assert found(directory, "RBKC and LBBD agreed, as did Surrey.") == [
        ("Kensington and Chelsea", "RBKC", True),
        ("Barking and Dagenham", "LBBD", True),
        ("Surrey", "Surrey", False),
    ]


def test_the_longest_name_wins(directory: Directory) -> None:
    assert found(directory, "We are in North Yorkshire.") == [("North Yorkshire", "North Yorkshire", False)]
    assert [n for n, _, _ in found(directory, "Derbyshire County Council, not Derby")] == ["Derbyshire", "Derby"]
    assert found(directory, "Nottingham City Council") == [("Nottingham", "Nottingham City Council", True)]
    assert found(directory, "Notts County Council") == [("Nottinghamshire", "Notts County Council", True)]
    assert found(directory, "Central Bedfordshire") == [("Central Bedfordshire", "Central Bedfordshire", False)]
    assert found(directory, "West Northamptonshire") == [("Northamptonshire", "West Northamptonshire", False)]


@pytest.mark.parametrize(
    "text",
    [
        "249 Birmingham Road, Sutton Coldfield B72 1EA",  # our own office address
        "I was reading the letter again",
        "we will bury the hatchet",
        "in the wake of the review",
        "the office is on York Way",
        "London Road, London",
        "Dear Mrs Kent,",
        "Kind regards,\nJohn Bradford",
        "she goes to Stoke Newington School",
        "write to sen@camden.gov.uk",
        "we stayed in New York",
        "Newport, on the Isle",  # Newport counts only as "Newport City Council"
    ],
)
def test_things_that_are_not_an_la(directory: Directory, text: str) -> None:
    assert found(directory, text) == []


def test_a_list_of_boroughs_is_all_found(directory: Directory) -> None:
    assert [n for n, _, _ in found(directory, "Camden, Islington and Hackney")] == [
        "Camden",
        "Islington",
        "Hackney",
    ]


def test_a_misspelt_council_is_still_found(directory: Directory) -> None:
    assert found(directory, "I rang Warington Borough Council and the Parish Council.") == [
        ("Warrington", "Warington Borough Council", True),
    ]


def test_a_misspelt_council_is_found_with_a_lower_case_council_word(directory: Directory) -> None:
    assert found(directory, "Wolverhamton council have refused, and so has the council.") == [
        ("Wolverhampton", "Wolverhamton council", True),
    ]


# --- what a reader of an email takes for a council (council matching lives only here) ---------------------


def _names(mentions) -> list[str]:
    return [m.authority.name for m in mentions]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We live in Camden and the plan is from Camden Council.", ["Camden", "Camden"]),
        ("Warington Borough Council refused to assess.", ["Warrington"]),  # misspelt: lookup resolves it
        ("Please write to sen@camden.gov.uk or see www.barnet.gov.uk", []),  # addresses, not mentions
        ("I spoke to Mrs Sutton about it.", []),  # a person
        ("We met at 12 Birmingham Road.", []),  # a street
        ("We moved from London last year.", []),  # the city, not a council
    ],
)
def test_council_mentions_are_what_a_reader_takes_for_councils(directory, text, expected):
    assert _names(directory.council_mentions(text)) == expected


def test_a_bare_name_run_into_another_proper_noun_is_doubtful(directory):
    (mention,) = directory.council_mentions("She goes to Waltham Forest Primary.")
    assert mention.authority.name == "Waltham Forest" and mention.doubtful
    (mention,) = directory.council_mentions("Waltham Forest Council said no.")
    assert not mention.doubtful


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("j.smith@lewisham.gov.uk", "Lewisham"),
        ("sen.team@mail.barnet.gov.uk", "Barnet"),  # "mail" names no council
        ("someone@example.gov.uk", None),
        ("parent@gmail.com", None),
    ],
)
def test_the_council_an_officers_address_names(directory, address, expected):
    la = directory.for_email_domain(address)
    assert (la.name if la else None) == expected
