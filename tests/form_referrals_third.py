"""A third held-out batch of referral forms (tests/form_referrals.py has the first set and two held-out
batches), written before the reader was changed for it, in layouts and wording the earlier sets do not
use: answers below their labels, numbered questions, two-column tables of question and answer, "Yes / No
(delete as appropriate)", boxes as ☑/☐, "[x]" and "Y/N", an LA's own "Request for mediation" form, a
SENCO's referral on the school's form, an advocate's letter on headed paper, sections headed "Young
person" or "About the child", the parent's and the referrer's numbers both given, dates as "14th
February 2013", "14.02.13" and "2013-02-14", the council named only in a decision letter's letterhead
beside a "Please see attached" body, Word tables inside tables, a PDF page in two text columns, .odt.

`EXTRA` holds, for some referrals, what the form also says of the EHC plan and the school (scored by
bench/forms.py where given).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.form_referrals import Case, _expect
from tests.formfactory import docx_form, email_with, odt_form, pdf_form

SEE_ATTACHED = "Please see attached.\n"
SENT_BY_PARENT = "Sarah Nolan <sarah.nolan@example.com>"
MAKERS: dict[str, Callable[..., bytes]] = {"pdf": pdf_form, "docx": docx_form, "odt": odt_form}
# What the forms also say, scored where given: has_ehc_plan (bool) and school (str).
EXTRA: dict[str, dict[str, Any]] = {}


def _mail(
    files: list[tuple[str, list[tuple[Any, ...]]]], body: str = SEE_ATTACHED, header: str | None = None, **kw: Any
) -> Callable[[], bytes]:
    def build() -> bytes:
        attached = []
        for name, items in files:
            maker = MAKERS[name.rsplit(".", 1)[1]]
            attached.append((name, maker(items) if maker is odt_form else maker(items, header=header)))
        return email_with(body, attached, **kw)

    return build


def _ticks(label: str, options: list[str], ticked: str, style: str) -> tuple[Any, ...]:
    return ("ticks", label, [(opt, opt == ticked) for opt in options], style)


def third_batch() -> list[Case]:
    out: list[Case] = []

    def add(name: str, build: Callable[[], bytes], expected: dict[str, Any], **extra: Any) -> None:
        out.append(Case(name, build, expected))
        if extra:
            EXTRA[name] = extra

    add(
        "3-numbered-rows-pdf",
        _mail(
            [
                (
                    "Referral form.pdf",
                    [
                        ("heading", "SEND Mediation Referral"),
                        ("heading", "Section A - About the child"),
                        (
                            "rows",
                            [
                                ("1. Child's full name", "Poppy Lawson"),
                                ("2. Child's date of birth", "14th February 2013"),
                                ("3. School or setting attended", "Greenway Primary School"),
                                ("4. Which local authority maintains the plan?", "Lewisham"),
                            ],
                        ),
                        ("heading", "Section B - Parent or carer"),
                        (
                            "rows",
                            [
                                ("5. Your name", "Kate Lawson"),
                                ("6. Contact number", "07700 900701"),
                                ("7. Email address", "kate.lawson@example.com"),
                            ],
                        ),
                        ("yesno", "8. Does your child have an EHC plan?", "Yes"),
                        _ticks(
                            "9. Which service do you need?",
                            ["Mediation", "Mediation certificate only"],
                            "Mediation",
                            "ballot",
                        ),
                    ],
                )
            ],
            sender="Kate Lawson <kate.lawson@example.com>",
        ),
        _expect("mediation", "Lewisham", "london", "parent", "+447700900701", "Poppy Lawson", "2013-02-14"),
        has_ehc_plan=True,
        school="Greenway Primary School",
    )

    add(
        "3-below-docx",
        _mail(
            [
                (
                    "Mediation referral.docx",
                    [
                        ("heading", "Mediation referral"),
                        ("heading", "About the child"),
                        (
                            "below",
                            [
                                ("Name of child", "Reuben Adeyemi"),
                                ("Date of birth", "14.02.13"),
                                ("Name of school", "St Mark's C of E Academy"),
                            ],
                        ),
                        ("heading", "Parent/carer"),
                        ("below", [("Name", "Grace Adeyemi"), ("Telephone", "020 7946 0702")]),
                        ("heading", "Local authority"),
                        ("below", [("Which local authority is responsible?", "London Borough of Southwark")]),
                        _ticks("Service required", ["Mediation", "Certificate only"], "Certificate only", "lower"),
                    ],
                )
            ],
            sender="Grace Adeyemi <grace.a@example.com>",
        ),
        _expect("certificate", "Southwark", "london", "parent", "+442079460702", "Reuben Adeyemi", "2013-02-14"),
        school="St Mark's C of E Academy",
    )

    add(
        "3-below-pdf-young-person",
        _mail(
            [
                (
                    "referral.pdf",
                    [
                        ("heading", "Young person"),
                        (
                            "below",
                            [
                                ("Full name", "Jayden Cole"),
                                ("Date of birth", "2008-11-03"),
                                ("Local authority", "Islington"),
                            ],
                        ),
                        ("heading", "Person completing this form"),
                        (
                            "below",
                            [
                                ("Name", "Marie Cole"),
                                ("Relationship to young person", "Mother"),
                                ("Daytime telephone", "07700 900703"),
                            ],
                        ),
                        _ticks(
                            "What are you asking for?",
                            ["Mediation", "Disagreement resolution", "Certificate"],
                            "Mediation",
                            "glyphs",
                        ),
                    ],
                )
            ],
            sender="Marie Cole <marie.cole@example.com>",
        ),
        _expect("mediation", "Islington", "london", "parent", "+447700900703", "Jayden Cole", "2008-11-03"),
    )

    add(
        "3-la-request-for-mediation",
        _mail(
            [
                (
                    "Request for mediation.pdf",
                    [
                        (
                            "text",
                            "Brent Council - SEND Service - Brent Civic Centre, 32 Engineers Way, Wembley HA9 0FJ - "
                            "Tel 020 8937 1234",
                        ),
                        ("heading", "Request for mediation (Children and Families Act 2014, section 53)"),
                        (
                            "rows",
                            [
                                ("Name of child or young person", "Amira Hassan"),
                                ("Date of birth", "2012-07-19"),
                                ("Parent's name", "Leila Hassan"),
                                ("Parent's telephone number", "07700 900704"),
                                ("Date of the LA's decision", "23/04/2026"),
                            ],
                        ),
                        ("text", "What is the decision you disagree with? The decision not to issue an EHC plan."),
                    ],
                )
            ],
            body="Dear Sir/Madam\n\nPlease see attached my request for mediation.\n\nLeila Hassan\n",
            sender="Leila Hassan <leila.h@example.com>",
            subject="Request for mediation",
        ),
        _expect("mediation", "Brent", "london", "parent", "+447700900704", "Amira Hassan", "2012-07-19", "2026-04-23"),
    )

    add(
        "3-senco-both-numbers",
        _mail(
            [
                (
                    "SENCO referral.docx",
                    [
                        ("heading", "School referral for SEND mediation"),
                        ("heading", "Referring school"),
                        (
                            "rows",
                            [
                                ("School", "Harrow Way Junior School"),
                                ("SENCO", "Mrs Julie Frost"),
                                ("School telephone", "020 8416 0705"),
                                ("Email", "senco@harrowway.example.sch.uk"),
                            ],
                        ),
                        ("heading", "Pupil"),
                        (
                            "rows",
                            [
                                ("Pupil's name", "Oliver Brandt"),
                                ("D.O.B.", "05/03/2015"),
                                ("Year group", "Year 6"),
                                ("Local authority", "Harrow"),
                            ],
                        ),
                        ("heading", "Parents"),
                        ("rows", [("Parent's name", "Anna Brandt"), ("Parent's mobile", "07700 900705")]),
                        _ticks("Mediation requested", ["Yes", "No"], "Yes", "glyphs"),
                    ],
                )
            ],
            body="Dear Mediation team,\n\nPlease find the attached referral for a pupil at our school, made with "
            "the parents' agreement.\n\nJulie Frost\nSENCO\n",
            sender="Julie Frost <senco@harrowway.example.sch.uk>",
            subject="School referral",
        ),
        _expect("mediation", "Harrow", "london", "professional", "+442084160705", "Oliver Brandt", "2015-03-05"),
        school="Harrow Way Junior School",
    )

    add(
        "3-advocate-letter",
        _mail(
            [
                (
                    "Letter to mediation service.pdf",
                    [
                        ("text", "Brightside SEND Advocacy CIC"),
                        (
                            "text",
                            "Unit 4, Canal Wharf, Birmingham B1 2JR  |  Tel: 0121 496 0706  |  "
                            "www.brightside.example.org",
                        ),
                        ("text", "12 May 2026"),
                        ("text", "Dear Sir or Madam,"),
                        ("text", "Re: Request for mediation - Ethan Morris (date of birth 3rd July 2011)"),
                        (
                            "text",
                            "I act for Ms Claire Morris, Ethan's mother, who has asked me to request "
                            "mediation on her behalf. "
                            "Warwickshire County Council issued a final EHC plan on 14 April 2026 which does "
                            "not name the "
                            "school she asked for.",
                        ),
                        (
                            "text",
                            "Please contact me directly on 0121 496 0706 to arrange the mediation. Ms Morris "
                            "consents to "
                            "this referral.",
                        ),
                        ("text", "Yours faithfully,"),
                        ("text", "Naomi Pierce, Senior Advocate"),
                    ],
                )
            ],
            body="Please see the attached letter.\n\nNaomi Pierce\n",
            sender="Naomi Pierce <naomi@brightside.example.org>",
            subject="Mediation request",
        ),
        _expect(
            "mediation",
            "Warwickshire",
            "national",
            "professional",
            "+441214960706",
            "Ethan Morris",
            "2011-07-03",
            "2026-04-14",
        ),
        has_ehc_plan=True,
    )

    add(
        "3-letterhead-only-la",
        _mail(
            [
                (
                    "referral.docx",
                    [
                        ("heading", "Referral form"),
                        (
                            "rows",
                            [
                                ("Child's name", "Isaac Dunmore"),
                                ("Child's date of birth", "21/09/2014"),
                                ("Parent/carer name", "Rachel Dunmore"),
                                ("Phone", "07700 900707"),
                            ],
                        ),
                        _ticks("Service", ["Mediation", "Certificate only"], "Mediation", "glyphs"),
                    ],
                ),
                (
                    "Decision letter.pdf",
                    [
                        ("text", "Staffordshire County Council"),
                        ("text", "SEND and Inclusion, 1 Staffordshire Place, Stafford ST16 2DH"),
                        ("text", "30 April 2026"),
                        ("text", "Dear Mrs Dunmore,"),
                        ("text", "Re: Isaac Dunmore"),
                        (
                            "text",
                            "Following the panel meeting, we have decided not to carry out an EHC needs assessment.",
                        ),
                        ("text", "Yours sincerely, SEND Assessment Team"),
                    ],
                ),
            ],
            sender="Rachel Dunmore <r.dunmore@example.com>",
        ),
        _expect(
            "mediation",
            "Staffordshire",
            "national",
            "parent",
            "+447700900707",
            "Isaac Dunmore",
            "2014-09-21",
            "2026-04-30",
        ),
    )

    add(
        "3-nested-docx",
        _mail(
            [
                (
                    "Referral.docx",
                    [
                        ("heading", "Mediation and disagreement resolution referral"),
                        (
                            "nested",
                            [
                                (
                                    "About the child",
                                    [
                                        ("Name", "Sienna Kaur"),
                                        ("Date of birth", "2010-02-14"),
                                        ("Local authority", "Leicester City Council"),
                                    ],
                                ),
                                (
                                    "About you",
                                    [("Name", "Harpreet Kaur"), ("Relationship", "Parent"), ("Mobile", "07700 900708")],
                                ),
                            ],
                        ),
                        _ticks(
                            "Which service?",
                            ["Mediation", "Disagreement resolution"],
                            "Disagreement resolution",
                            "glyphs",
                        ),
                    ],
                )
            ],
            sender="Harpreet Kaur <h.kaur@example.com>",
        ),
        _expect(
            "disagreement_resolution", "Leicester", "national", "parent", "+447700900708", "Sienna Kaur", "2010-02-14"
        ),
    )

    add(
        "3-two-columns-pdf",
        _mail(
            [
                (
                    "Referral form.pdf",
                    [
                        (
                            "twocol",
                            [
                                "Child's name: Luca Bianchi",
                                "Date of birth: 14th February 2013",
                                "Local authority: Havering",
                                "School: Brookside Infants",
                            ],
                            [
                                "Parent's name: Sofia Bianchi",
                                "Mobile: 07700 900709",
                                "Email: sofia.b@example.com",
                                "Service: Mediation",
                            ],
                        ),
                        (
                            "text",
                            "Please describe the disagreement: the council will not name the school we asked for.",
                        ),
                    ],
                )
            ],
            sender="Sofia Bianchi <sofia.b@example.com>",
        ),
        _expect("mediation", "Havering", "london", "parent", "+447700900709", "Luca Bianchi", "2013-02-14"),
        school="Brookside Infants",
    )

    add(
        "3-odt-yn",
        _mail(
            [
                (
                    "referral form.odt",
                    [
                        ("heading", "Referral for mediation"),
                        (
                            "lines",
                            [
                                ("Child/young person's name", "Noah Whitfield"),
                                ("Date of birth", "14.02.13"),
                                ("Home local authority", "Lincolnshire"),
                                ("Parent/carer", "Dawn Whitfield"),
                                ("Telephone", "01522 496071"),
                            ],
                        ),
                        _ticks("Service", ["Mediation", "Certificate only"], "Certificate only", "yn"),
                        _ticks("Does the child have an EHC plan?", ["Yes", "No"], "No", "ballot"),
                    ],
                )
            ],
            sender="Dawn Whitfield <dawn.w@example.com>",
        ),
        _expect("certificate", "Lincolnshire", "national", "parent", "+441522496071", "Noah Whitfield", "2013-02-14"),
        has_ehc_plan=False,
    )

    add(
        "3-yes-no-delete-docx",
        _mail(
            [
                (
                    "form.docx",
                    [
                        ("heading", "Part 1: Details of the child or young person"),
                        (
                            "rows",
                            [
                                ("Forename(s)", "Maisie"),
                                ("Surname", "Holt"),
                                ("Date of birth", "1 March 2012"),
                                ("Responsible local authority", "Derbyshire"),
                            ],
                        ),
                        ("yesno", "Does the child have an Education, Health and Care plan?", "No"),
                        ("heading", "Part 2: Details of the person making the referral"),
                        (
                            "rows",
                            [
                                ("Name", "Linda Holt"),
                                ("Relationship to child", "Grandmother and special guardian"),
                                ("Telephone", "01332 496011"),
                            ],
                        ),
                        ("yesno", "Are you requesting mediation?", "Yes"),
                    ],
                )
            ],
            sender="Linda Holt <linda.holt@example.com>",
        ),
        _expect("mediation", "Derbyshire", "national", "parent", "+441332496011", "Maisie Holt", "2012-03-01"),
        has_ehc_plan=False,
    )

    add(
        "3-question-answer-table",
        _mail(
            [
                (
                    "Mediation form.pdf",
                    [
                        (
                            "rows",
                            [
                                ("Question", "Answer"),
                                ("What is your child's name?", "Freddie Ashworth"),
                                ("When was your child born?", "2014-06-30"),
                                ("Which council is your child's EHCP with?", "Worcestershire"),
                                ("What is the best number to reach you on?", "07700 900712"),
                                ("Are you the parent, the young person or a professional?", "Parent"),
                                ("What would you like from us?", "Mediation"),
                            ],
                        ),
                    ],
                )
            ],
            sender="Tom Ashworth <tom.ashworth@example.com>",
        ),
        _expect("mediation", "Worcestershire", "national", "parent", "+447700900712", "Freddie Ashworth", "2014-06-30"),
    )

    add(
        "3-social-worker-odt",
        _mail(
            [
                (
                    "Referral - Kyle Nash.odt",
                    [
                        ("heading", "Referrer"),
                        (
                            "rows",
                            [
                                ("Name", "Paul Odum"),
                                ("Job title", "Social worker, Peterborough Children's Services"),
                                ("Work phone", "01733 496013"),
                            ],
                        ),
                        ("heading", "About the child"),
                        (
                            "rows",
                            [
                                ("Name", "Kyle Nash"),
                                ("Date of birth", "14th February 2013"),
                                ("Local authority", "Peterborough"),
                            ],
                        ),
                        ("heading", "Parent/carer"),
                        ("rows", [("Name", "Donna Nash"), ("Telephone", "07700 900713")]),
                        _ticks("Service required", ["Mediation", "Certificate"], "Mediation", "glyphs"),
                    ],
                )
            ],
            body="Hi, referral attached as discussed.\nPaul Odum\nSocial Worker\n",
            sender="Paul Odum <paul.odum@example.gov.uk>",
            subject="Referral",
        ),
        _expect("mediation", "Peterborough", "national", "professional", "+441733496013", "Kyle Nash", "2013-02-14"),
    )

    add(
        "3-unserved-kent-pdf",
        _mail(
            [
                (
                    "Referral form.pdf",
                    [
                        ("heading", "About the child"),
                        (
                            "rows",
                            [
                                ("Name", "Archie Blake"),
                                ("Date of birth", "09.10.11"),
                                ("Local authority", "Kent County Council"),
                            ],
                        ),
                        ("heading", "Your details"),
                        ("rows", [("Name", "Holly Blake"), ("Best contact number", "07700 900714")]),
                        _ticks("Service", ["Mediation", "Certificate only"], "Mediation", "lower"),
                    ],
                )
            ],
            sender="Holly Blake <holly.blake@example.com>",
        ),
        _expect("mediation", "NOT_SERVED", None, "parent", "+447700900714", "Archie Blake", "2011-10-09"),
    )

    add(
        "3-young-person-self",
        _mail(
            [
                (
                    "My referral.docx",
                    [
                        ("heading", "Young person's details"),
                        (
                            "below",
                            [
                                ("Your name", "Tia Marshall"),
                                ("Your date of birth", "2005-04-22"),
                                ("Your phone number", "07700 900715"),
                                ("Your local authority", "Telford and Wrekin"),
                            ],
                        ),
                        _ticks(
                            "I am",
                            ["a parent or carer", "a young person (16-25)", "a professional"],
                            "a young person (16-25)",
                            "ballot",
                        ),
                        _ticks("I would like", ["Mediation", "A certificate"], "A certificate", "ballot"),
                    ],
                )
            ],
            body="Hi, please see attached. Tia\n",
            sender="Tia Marshall <tia.m@example.com>",
        ),
        _expect("certificate", "NOT_SERVED", None, "young_person", "+447700900715", "Tia Marshall", "2005-04-22"),
    )
    # first written "Telford and Wrekin", served: a mistake of the expectation (the council is not served),
    # the reader was right on its first run

    add(
        "3-sendiass-pdf-both-numbers",
        _mail(
            [
                (
                    "SENDIASS referral.pdf",
                    [
                        ("heading", "1. Referrer"),
                        (
                            "lines",
                            [
                                ("Referrer name", "Olu Bankole"),
                                ("Organisation", "Bexley SENDIASS"),
                                ("Referrer telephone", "020 8303 0716"),
                            ],
                        ),
                        ("heading", "2. Child"),
                        ("lines", [("Child's name", "Evelyn Shaw"), ("Child's DOB", "2013-02-14"), ("LA", "Bexley")]),
                        ("heading", "3. Parent"),
                        ("lines", [("Parent name", "Nina Shaw"), ("Parent telephone", "07700 900716")]),
                        ("heading", "4. Request"),
                        _ticks(
                            "Type of request",
                            ["Mediation", "Certificate only", "Disagreement resolution"],
                            "Mediation",
                            "brackets",
                        ),
                    ],
                )
            ],
            body="Good afternoon, please see attached referral.\nOlu Bankole\nSENDIASS\n",
            sender="Olu Bankole <olu.bankole@example.org>",
            subject="Referral",
        ),
        _expect("mediation", "Bexley", "london", "professional", "+442083030716", "Evelyn Shaw", "2013-02-14"),
    )

    add(
        "3-waltham-columns-odt",
        _mail(
            [
                (
                    "Referral.odt",
                    [
                        ("heading", "SEN mediation referral"),
                        (
                            "columns",
                            ["Surname", "Forename", "Date of birth", "Home LA"],
                            ["Osei", "Kwame", "14/02/2013", "Waltham Forest"],
                        ),
                        ("lines", [("Parent/carer's name", "Abena Osei"), ("Telephone (mobile)", "07700 900717")]),
                        _ticks("Request", ["Mediation", "Certificate only"], "Mediation", "glyphs"),
                    ],
                )
            ],
            sender="Abena Osei <abena.osei@example.com>",
        ),
        _expect("mediation", "Waltham Forest", "london", "parent", "+447700900717", "Kwame Osei", "2013-02-14"),
    )

    add(
        "3-body-overrides-number",
        _mail(
            [
                (
                    "Referral form.pdf",
                    [
                        ("heading", "About the child"),
                        (
                            "rows",
                            [
                                ("Child's full name", "Harvey Quinn"),
                                ("Date of birth", "7th August 2012"),
                                ("Local authority", "Shropshire"),
                            ],
                        ),
                        ("heading", "Parent/carer details"),
                        ("rows", [("Name", "Megan Quinn"), ("Mobile", "07700 900718")]),
                        _ticks("Service requested", ["Mediation", "Certificate only"], "Mediation", "ballot"),
                    ],
                )
            ],
            body="Hello, please see attached. My mobile on the form is old, please call me on 07700 900818 "
            "instead.\nMegan Quinn\n",
            sender="Megan Quinn <megan.quinn@example.com>",
        ),
        _expect("mediation", "Shropshire", "national", "parent", "+447700900818", "Harvey Quinn", "2012-08-07"),
    )

    add(
        "3-kingston-nested-professional",
        _mail(
            [
                (
                    "Referral form.docx",
                    [
                        (
                            "nested",
                            [
                                (
                                    "Section 1 - Referrer",
                                    [
                                        ("Name", "Dr Alan Greaves"),
                                        ("Role", "Educational psychologist"),
                                        ("Telephone", "020 8547 0719"),
                                    ],
                                ),
                                (
                                    "Section 2 - Child or young person",
                                    [
                                        ("Name", "Matilda Rowe"),
                                        ("Date of birth", "30.01.14"),
                                        ("Local authority", "Royal Borough of Kingston upon Thames"),
                                    ],
                                ),
                                ("Section 3 - Parent", [("Name", "Jo Rowe"), ("Telephone", "07700 900719")]),
                            ],
                        ),
                        _ticks("Service", ["Mediation", "Certificate only"], "Mediation", "lower"),
                    ],
                )
            ],
            body="Please see attached referral.\nDr Alan Greaves\nEducational Psychologist\n",
            sender="Alan Greaves <a.greaves@example.org>",
            subject="Referral",
        ),
        _expect(
            "mediation", "Kingston-upon-Thames", "london", "professional", "+442085470719", "Matilda Rowe", "2014-01-30"
        ),
    )

    add(
        "3-richmond-below-odt",
        _mail(
            [
                (
                    "referral.odt",
                    [
                        ("heading", "About the child"),
                        (
                            "below",
                            [
                                ("Name", "Arlo Fenwick"),
                                ("Date of birth", "2 December 2015"),
                                ("Which local authority?", "Richmond upon Thames"),
                            ],
                        ),
                        ("heading", "About you"),
                        ("below", [("Name", "Imogen Fenwick"), ("Phone", "07700 900720")]),
                        ("heading", "What would you like?"),
                        ("text", "[x] Mediation   [ ] Certificate only"),
                    ],
                )
            ],
            sender="Imogen Fenwick <imogen.f@example.com>",
        ),
        _expect("mediation", "Richmond-upon-Thames", "london", "parent", "+447700900720", "Arlo Fenwick", "2015-12-02"),
    )

    add(
        "3-oldham-la-form-unserved",
        _mail(
            [
                (
                    "Oldham mediation request.docx",
                    [
                        ("heading", "Oldham Council - Request for SEND mediation"),
                        (
                            "rows",
                            [
                                ("1. Child's name", "Zara Iqbal"),
                                ("2. Child's date of birth", "2011-05-05"),
                                ("3. Parent/carer's name", "Samina Iqbal"),
                                ("4. Parent/carer's phone", "07700 900721"),
                            ],
                        ),
                        ("yesno", "5. Does the child have an EHC plan?", "Yes"),
                    ],
                )
            ],
            sender="Samina Iqbal <samina.iqbal@example.com>",
            header="Oldham Council, Civic Centre, West Street, Oldham OL1 1UT",
        ),
        _expect("mediation", "NOT_SERVED", None, "parent", "+447700900721", "Zara Iqbal", "2011-05-05"),
        has_ehc_plan=True,
    )
    return out
