"""A fourth held-out batch of referral forms: eight written after the reader was changed for the third
batch (tests/form_referrals_third.py) and run once as they came (first-run figures in
bench/forms_third_first_run.txt): held out from those changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.form_referrals import Case, _expect
from tests.form_referrals_third import EXTRA, _mail, _ticks


def fourth_batch() -> list[Case]:
    """Eight more, written after the reader was changed for the third batch and run once as they came
    (their first-run figures are in bench/forms_third_first_run.txt): held out from those changes."""
    out: list[Case] = []

    def add(name: str, build: Callable[[], bytes], expected: dict[str, Any], **extra: Any) -> None:
        out.append(Case(name, build, expected))
        if extra:
            EXTRA[name] = extra

    add(
        "4-q-numbered-lines-pdf",
        _mail(
            [
                (
                    "Referral.pdf",
                    [
                        ("heading", "Section 1 \u2014 The young person"),
                        (
                            "lines",
                            [
                                ("Q1 Name of young person", "Ruby-Mae Carter"),
                                ("Q2 Date of birth (dd/mm/yyyy)", "14/2/2013"),
                                ("Q3 Home authority", "Staffordshire"),
                            ],
                        ),
                        ("heading", "Section 2 \u2014 You"),
                        ("lines", [("Q4 Your name", "Leanne Carter"), ("Q5 Tel (mobile)", "07700 900801")]),
                        _ticks("Q6 Service", ["Mediation", "Certificate only"], "Mediation", "ballot"),
                    ],
                )
            ],
            sender="Leanne Carter <leanne.c@example.com>",
        ),
        _expect("mediation", "Staffordshire", "national", "parent", "+447700900801", "Ruby-Mae Carter", "2013-02-14"),
    )

    add(
        "4-office-use-docx",
        _mail(
            [
                (
                    "referral form.docx",
                    [
                        ("heading", "Referral for mediation"),
                        (
                            "rows",
                            [
                                ("Child's forename", "Elliot"),
                                ("Child's surname", "Barnes"),
                                ("Date of birth", "2012-09-09"),
                                ("Local authority", "Warwickshire"),
                                ("Parent/carer name", "Sam Barnes"),
                                ("Parent/carer telephone", "07700 900802"),
                            ],
                        ),
                        _ticks("Request", ["Mediation", "Certificate only"], "Certificate only", "lower"),
                        ("heading", "Office use only"),
                        ("rows", [("Received by", "Duty coordinator"), ("Telephone", "0333 006 2835")]),
                    ],
                )
            ],
            sender="Sam Barnes <sam.barnes@example.com>",
        ),
        _expect("certificate", "Warwickshire", "national", "parent", "+447700900802", "Elliot Barnes", "2012-09-09"),
    )

    add(
        "4-odt-below-colons",
        _mail(
            [
                (
                    "form.odt",
                    [
                        ("heading", "About the child"),
                        (
                            "below",
                            [
                                ("Name:", "Hassan Ali"),
                                ("Date of birth:", "3rd March 2014"),
                                ("Local authority:", "Leicester"),
                            ],
                        ),
                        ("heading", "Parent or carer"),
                        ("below", [("Name:", "Fatima Ali"), ("Phone number:", "0116 496 0803")]),
                        _ticks("Service requested", ["Mediation", "Disagreement resolution"], "Mediation", "glyphs"),
                    ],
                )
            ],
            sender="Fatima Ali <fatima.ali@example.com>",
        ),
        _expect("mediation", "Leicester", "national", "parent", "+441164960803", "Hassan Ali", "2014-03-03"),
    )

    add(
        "4-school-pdf-two-numbers",
        _mail(
            [
                (
                    "Pupil referral.pdf",
                    [
                        ("text", "Oak Lane Primary School, Oak Lane, Lincoln LN1 1AA. Tel 01522 496804"),
                        ("heading", "Pupil details"),
                        ("rows", [("Pupil name", "Daisy Moore"), ("DOB", "14.02.2013"), ("LA", "Lincolnshire")]),
                        ("heading", "Parent/carer"),
                        ("rows", [("Name", "Kerry Moore"), ("Contact number", "07700 900804")]),
                        ("heading", "Referrer"),
                        (
                            "rows",
                            [
                                ("Name", "Mr Ian Cross"),
                                ("Position", "Deputy head and SENCO"),
                                ("Direct line", "01522 496805"),
                            ],
                        ),
                        _ticks("Service", ["Mediation", "Certificate"], "Mediation", "brackets"),
                    ],
                )
            ],
            body="Please see attached.\nIan Cross\n",
            sender="Ian Cross <senco@oaklane.example.sch.uk>",
            subject="Pupil referral",
        ),
        _expect("mediation", "Lincolnshire", "national", "professional", "+441522496805", "Daisy Moore", "2013-02-14"),
    )

    add(
        "4-docx-yn-table",
        _mail(
            [
                (
                    "Mediation request.docx",
                    [
                        ("heading", "About the child"),
                        (
                            "rows",
                            [
                                ("Full name", "Jacob Lin"),
                                ("Date of birth", "2015-01-20"),
                                ("Local authority", "Southwark"),
                            ],
                        ),
                        ("heading", "About you"),
                        ("rows", [("Full name", "Mei Lin"), ("Mobile", "07700 900806")]),
                        ("rows", [("Mediation (Y/N)", "N"), ("Certificate only (Y/N)", "Y")]),
                    ],
                )
            ],
            sender="Mei Lin <mei.lin@example.com>",
        ),
        _expect("certificate", "Southwark", "london", "parent", "+447700900806", "Jacob Lin", "2015-01-20"),
    )

    add(
        "4-letter-beside-numbered-form",
        _mail(
            [
                (
                    "Referral.pdf",
                    [
                        (
                            "rows",
                            [
                                ("1. Name of child", "Alfie Stone"),
                                ("2. Date of birth", "2011-12-01"),
                                ("3. Parent's name", "Gemma Stone"),
                                ("4. Parent's phone", "07700 900807"),
                            ],
                        ),
                    ],
                ),
                (
                    "EHCP decision.pdf",
                    [
                        ("text", "London Borough of Islington"),
                        ("text", "Children's Services, 222 Upper Street, London N1 1XR"),
                        ("text", "2 May 2026"),
                        ("text", "Dear Ms Stone, we have decided not to issue an EHC plan for Alfie."),
                        ("text", "Yours sincerely, SEN Team Manager"),
                    ],
                ),
            ],
            sender="Gemma Stone <gemma.stone@example.com>",
        ),
        _expect(
            "mediation", "Islington", "london", "parent", "+447700900807", "Alfie Stone", "2011-12-01", "2026-05-02"
        ),
    )

    add(
        "4-young-person-odt-yesno",
        _mail(
            [
                (
                    "referral.odt",
                    [
                        ("heading", "Your details"),
                        (
                            "rows",
                            [
                                ("Your full name", "Kieran Doyle"),
                                ("Your date of birth", "2006-08-15"),
                                ("Your mobile", "07700 900808"),
                                ("Your council", "Havering"),
                            ],
                        ),
                        ("yesno", "Are you the young person?", "Yes"),
                        _ticks("I would like", ["Mediation", "A mediation certificate"], "Mediation", "glyphs"),
                    ],
                )
            ],
            body="Hi, my referral form is attached. Kieran\n",
            sender="Kieran Doyle <kieran.d@example.com>",
        ),
        _expect("mediation", "Havering", "london", "young_person", "+447700900808", "Kieran Doyle", "2006-08-15"),
    )

    add(
        "4-advocate-docx-letter",
        _mail(
            [
                (
                    "Referral letter.docx",
                    [
                        (
                            "text",
                            "Parent Partnership Advocacy Service, 10 High Street, Derby DE1 1AA, tel 01332 496809",
                        ),
                        ("text", "Dear Mediation Desk,"),
                        (
                            "text",
                            "I am an independent advocate supporting Mr and Mrs Khan, whose daughter Sana "
                            "Khan (born 14th "
                            "February 2013) attends a mainstream school. Derbyshire County Council has "
                            "refused to carry out "
                            "an EHC needs assessment.",
                        ),
                        ("text", "Please contact me on 01332 496809 to arrange mediation."),
                        ("text", "Kind regards,"),
                        ("text", "Priti Shah"),
                        ("text", "Independent Advocate"),
                    ],
                )
            ],
            body="Please see attached.\n\nPriti Shah\n",
            sender="Priti Shah <priti.shah@example.org>",
            header=None,
        ),
        _expect("mediation", "Derbyshire", "national", "professional", "+441332496809", "Sana Khan", "2013-02-14"),
    )
    return out
