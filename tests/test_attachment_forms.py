"""Referral forms attached as PDF, Word or OpenDocument are read like the email itself (issue 13).

The forms are built here (tests/formfactory.py, tests/form_referrals.py) in the layouts referral forms
come in; what a coordinator would read from each is written beside it.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime

import pytest
from sqlmodel import Session, select

from inbox.documents import DocumentLimits, read_document
from inbox.documents.ticks import normalise_ticks
from inbox.extract.ticks import blank_unticked
from inbox.intake import Intake
from inbox.reading import Reading, ReadOptions, read
from inbox.sources.base import MessageKey, SourceMessage
from models.cases import Case, TimelineEvent
from models.mail import InboundMessage
from tests.cli import run_main
from tests.form_referrals import FIELDS, cases, held_out_cases
from tests.form_referrals_fourth import fourth_batch
from tests.form_referrals_third import EXTRA, third_batch
from tests.formfactory import (
    docx_form,
    edit_protected_pdf,
    email_with,
    encrypted_pdf,
    fillable_pdf,
    image_only_pdf,
    odt_form,
    pdf_form,
)

OPTIONS = ReadOptions(("referrals@mediation-desk.example.org",))
RECEIVED = datetime(2026, 5, 12, 10, 0)
FORM = [
    ("heading", "About the child"),
    ("rows", [("Child's full name", "Ava Smith"), ("Date of birth", "14/02/2013"), ("Local authority", "Trafford")]),
    ("heading", "Parent/carer details"),
    ("rows", [("Name", "Sarah Nolan"), ("Mobile", "07700 900123"), ("Home phone", "0161 496 0123")]),
    ("ticks", "Best number to call", [("Mobile", False), ("Home", True)]),
    ("ticks", "Service requested", [("Mediation", True), ("Certificate only", False)]),
]
FILLED = [
    ("Text1", "Child's full name", "Ava Smith"), ("Text2", "Date of birth", "14/02/2013"),
    ("Text3", "Local authority", "Trafford"), ("Text4", "Parent/carer name", "Sarah Nolan"),
    ("Text5", "Mobile", "07700 900123"), ("Text6", "Home phone", "0161 496 0123"),
    ("Radio1", "Best number to call", "Home"), ("Check1", "Mediation", True), ("Check2", "Certificate only", False),
]  # fmt: skip
COVER = "Hello,\n\nPlease find attached our referral form.\n\nSarah Nolan\n"


def reading_of(raw: bytes, options: ReadOptions = OPTIONS) -> Reading:
    result = read(raw, options, received_at=RECEIVED)
    assert isinstance(result, Reading), result
    return result


def value(reading: Reading, field: str) -> object:
    r = reading.referral
    assert r is not None
    if field == "local_authority" and r.local_authority is not None and r.served is False:
        return "NOT_SERVED"
    got = getattr(r, field)
    return got.isoformat() if hasattr(got, "isoformat") else got


def test_every_field_is_read_from_the_attached_forms_of_the_set():
    every = [*cases(), *held_out_cases()]
    assert len(every) >= 25
    wrong: dict[str, list[str]] = {field: [] for field in FIELDS}
    for case in every:
        reading = reading_of(case.build())
        assert all(doc.read for doc in reading.documents), case.name
        for field in FIELDS:
            if value(reading, field) != case.expected[field]:
                wrong[field].append(f"{case.name}: {value(reading, field)!r} != {case.expected[field]!r}")
    for field, misses in wrong.items():
        assert len(misses) <= 0.05 * len(every), (field, misses)


def test_the_batches_held_out_in_new_layouts_are_read():
    """Third and fourth batches (answers below labels, numbered questions, Y/N, struck words, tables in
    tables, two text columns, letters): every field, and the EHC plan and school where the form says."""
    every = [*third_batch(), *fourth_batch()]
    assert len(every) >= 25
    wrong: dict[str, list[str]] = {}
    for case in every:
        reading = reading_of(case.build())
        for field, want in [*case.expected.items(), *EXTRA.get(case.name, {}).items()]:
            if value(reading, field) != want:
                wrong.setdefault(field, []).append(f"{case.name}: {value(reading, field)!r} != {want!r}")
    for field, misses in wrong.items():
        assert len(misses) <= 0.05 * len(every), (field, misses)


BELOW = [
    ("heading", "About the child"),
    ("below", [("Name", "Arlo Fenwick"), ("Date of birth", "2nd December 2015"), ("Local authority", "Lewisham")]),
    ("heading", "Parent/carer"),
    ("below", [("Name", "Imogen Fenwick"), ("Phone", "07700 900720")]),
]


@pytest.mark.parametrize("name, maker", [("a.pdf", pdf_form), ("a.docx", docx_form), ("a.odt", odt_form)])
def test_answers_below_their_labels_pair_with_the_right_label(name, maker):
    r = reading_of(email_with(COVER, [(name, maker(BELOW))])).referral
    assert r is not None
    assert (r.child_name, r.child_dob.isoformat() if r.child_dob else None) == ("Arlo Fenwick", "2015-12-02")
    assert (r.local_authority, r.contact_phone) == ("Lewisham", "+447700900720")


@pytest.mark.parametrize("name, maker", [("Referral.docx", docx_form), ("Referral.odt", odt_form)])
def test_numbered_questions_and_a_table_inside_a_table_are_read(name, maker):
    form = [
        ("nested", [
            ("1. The child", [("1a. Name", "Sienna Kaur"), ("1b. Date of birth", "2010-02-14")]),
            ("2. Parent", [("2a. Name", "Harpreet Kaur"), ("2b. Mobile", "07700 900708")]),
        ]),
        ("rows", [("3. Which local authority maintains the plan?", "Leicester")]),
    ]  # fmt: skip
    r = reading_of(email_with(COVER, [(name, maker(form))])).referral
    assert r is not None
    assert (r.child_name, r.contact_phone, r.local_authority) == ("Sienna Kaur", "+447700900708", "Leicester")


def test_a_pdf_page_in_two_columns_keeps_each_column_under_its_own_heading():
    left = ["About the child", "Name: Ava Smith", "Date of birth: 14/02/2013", "Local authority: Trafford"]
    right = ["About you", "Name: Sarah Nolan", "Relationship: Mother", "Phone: 07700 900123"]
    r = reading_of(email_with(COVER, [("Referral.pdf", pdf_form([("twocol", left, right)], header=None))])).referral
    assert r is not None
    assert (r.child_name, r.referrer_name, r.contact_phone) == ("Ava Smith", "Sarah Nolan", "+447700900123")


def test_a_pdf_page_in_two_columns_keeps_each_answer_to_its_label():
    left = ["Child's name: Luca Bianchi", "Date of birth: 14th February 2013", "Local authority: Havering"]
    right = ["Parent's name: Sofia Bianchi", "Mobile: 07700 900709", "Service: Certificate only"]
    r = reading_of(email_with(COVER, [("Referral.pdf", pdf_form([("twocol", left, right)]))])).referral
    assert r is not None
    assert (r.child_name, r.local_authority, r.contact_phone) == ("Luca Bianchi", "Havering", "+447700900709")
    assert r.service == "certificate"


@pytest.mark.parametrize("maker", [docx_form, pdf_form, odt_form])
@pytest.mark.parametrize("answer", ["Yes", "No"])
def test_yes_no_delete_as_appropriate_is_answered_by_the_word_left(maker, answer):
    """Word: the other word struck through (its text is still there); PDF and .odt: the other deleted."""
    form = [*FORM, ("yesno", "Does the child have an EHC plan?", answer)]
    r = reading_of(email_with(COVER, [("Referral form" + {docx_form: ".docx", pdf_form: ".pdf"}.get(maker, ".odt"),
                                       maker(form))])).referral  # fmt: skip
    assert r is not None and r.has_ehc_plan is (answer == "Yes")


def test_options_answered_y_or_n_are_ticked_or_not():
    ticked = normalise_ticks("Service: Mediation (Y/N) N   Certificate only (Y/N) Y")
    assert " ".join(ticked.split()) == "Service: [ ] Mediation [X] Certificate only"
    assert normalise_ticks("Does the child have an EHC plan? (Y/N): N") == "Does the child have an EHC plan? No"


def test_a_letter_the_sender_signed_speaks_for_them_and_a_number_given_instead_in_the_body_wins():
    letter = pdf_form([
        ("text", "Dear Sir or Madam,"),
        ("text", "Re: Ethan Morris (date of birth 3rd July 2011). Warwickshire County Council has refused to "
                 "assess him. Please contact me on 0121 496 0706 to arrange mediation."),
        ("text", "Yours faithfully,"), ("text", "Naomi Pierce, Senior Advocate"),
    ], header=None)  # fmt: skip
    raw = email_with("Please see attached.\n\nNaomi Pierce\n", [("Letter.pdf", letter)],
                     sender="Naomi Pierce <naomi@example.org>")  # fmt: skip
    r = reading_of(raw).referral
    assert r is not None
    assert (r.referrer_role, r.contact_phone, r.child_name) == ("professional", "+441214960706", "Ethan Morris")
    body = "Please see attached. The mobile on the form is old, please call me on 07700 900818 instead.\n"
    r = reading_of(email_with(body, [("Referral form.pdf", pdf_form(FORM))])).referral
    assert r is not None and r.contact_phone == "+447700900818"


def test_a_filled_referral_form_naming_no_service_is_a_referral_for_mediation():
    form = [("rows", [("Child's name", "Alfie Stone"), ("Date of birth", "2011-12-01"), ("Phone", "07700 900807")])]
    r = reading_of(email_with("Please see attached.\n", [("Referral.pdf", pdf_form(form))])).referral
    assert r is not None and r.service == "mediation"
    r = reading_of(email_with("Please see attached.\n", [("Notes.pdf", pdf_form(form))])).referral
    assert r is not None and r.service is None  # not said to be a referral: nothing is assumed


@pytest.mark.parametrize(
    "name, build",
    [
        ("Referral form.pdf", lambda: pdf_form(FORM)),
        ("Referral form.pdf", lambda: pdf_form(FORM, tick_style="drawn")),
        ("Referral form.docx", lambda: docx_form(FORM, tick_style="content_control")),
        ("Referral form.docx", lambda: docx_form(FORM, tick_style="legacy")),
        ("Referral form.docx", lambda: docx_form(FORM, tick_style="symbol")),
        ("Referral form.odt", lambda: odt_form(FORM)),
        ("Referral form.pdf", lambda: fillable_pdf([("text", "Referral form")], FILLED)),
    ],
)
def test_each_kind_of_form_gives_its_answers_with_the_file_named(name, build):
    reading = reading_of(email_with(COVER, [(name, build())]))
    r = reading.referral
    assert r is not None
    assert (r.child_name, value(reading, "child_dob"), r.local_authority) == ("Ava Smith", "2013-02-14", "Trafford")
    assert r.contact_phone == "+441614960123"  # Home was ticked as the best number, not the mobile
    assert r.service == "mediation" and r.referrer_role == "parent"
    dob = r.evidence["child_dob"]
    assert (dob.source, dob.file) == ("attachment", name)
    assert dob.said.startswith(f"from {name}: Date of birth") and "14/02/2013" in dob.said
    [doc] = reading.documents
    assert doc.read and not doc.problem and not doc.needs_person


def test_the_body_written_now_beats_the_older_form_and_says_so():
    raw = email_with(
        "Hello,\n\nOur referral form is attached. Please use my new number 07700 900999, the one on the form "
        "no longer works. Since filling it in we have decided we only need the certificate.\n\nSarah Nolan\n",
        [("Referral form.pdf", pdf_form(FORM))],
    )
    r = reading_of(raw).referral
    assert r is not None
    assert r.contact_phone == "+447700900999" and r.evidence["contact_phone"].source == "body"
    assert r.service == "certificate" and r.evidence["service"].source == "body"
    assert r.evidence["child_name"].file == "Referral form.pdf"  # what the body does not say: the form's


def test_a_form_beats_what_an_earlier_email_quoted_below_said():
    raw = email_with(
        "Hello,\n\nThe form is attached.\n\nSarah\n\n"
        "On Mon, 4 May 2026 at 10:00, Sarah Nolan <sarah.nolan@example.com> wrote:\n"
        "> We live in Hounslow. My date of birth question: my son was born on 01/01/2012.\n"
        "> You can reach me on 07700 900111.\n",
        [("Referral form.docx", docx_form(FORM))],
    )
    r = reading_of(raw).referral
    assert r is not None
    assert (r.local_authority, r.contact_phone, value(reading_of(raw), "child_dob")) == (
        "Trafford",
        "+441614960123",
        "2013-02-14",
    )


def test_a_form_beats_a_forwarded_email_and_a_move_told_now_beats_the_form():
    forwarded = email_with(
        "Hello,\n\nForm attached; my earlier email is below.\n\nSarah\n\n"
        "---------- Forwarded message ---------\nFrom: Sarah Nolan <sarah.nolan@example.com>\n"
        "Date: Mon, 4 May 2026 at 10:00\nSubject: mediation\nTo: referrals@mediation-desk.example.org\n\n"
        "Hello, my son needs help. You can reach me on my mobile 07700 900111.\n",
        [("Referral form.pdf", pdf_form(FORM))],
    )
    r = reading_of(forwarded).referral
    assert r is not None and r.contact_phone == "+441614960123" and r.evidence["contact_phone"].file
    moved = email_with(
        "Hello,\n\nThe form is attached. Since we filled it in we have moved to Stockport.\n\nSarah Nolan\n",
        [("Referral form.pdf", pdf_form(FORM))],
    )
    r = reading_of(moved).referral
    assert r is not None and r.local_authority == "Stockport" and r.evidence["local_authority"].source == "body"


def test_our_own_address_and_number_on_a_form_are_never_the_familys():
    form = [("text", "Return this form to: Mediation Desk, 249 Birmingham Road,"), ("text", "Sutton Coldfield B72 1EA"),
            ("text", "Telephone 0333 006 2835"), ("rows", [("Child's name", "Ava Smith")])]  # fmt: skip
    r = reading_of(email_with(COVER, [("Referral form.pdf", pdf_form(form))])).referral
    assert r is not None
    assert r.local_authority is None and r.contact_phone is None


def test_a_decision_letter_beside_the_form_is_read_too():
    letter = pdf_form(
        [("text", "Nottingham City Council"), ("text", "3 March 2026"), ("text", "Dear Parent/Carer,"),
         ("text", "Re: Ava Smith (date of birth 14/02/2013)"),
         ("text", "I am writing to tell you that the local authority has decided not to issue an EHC plan.")],
        header=None,
    )  # fmt: skip
    form = [item for item in FORM if item[0] != "rows"] + [("rows", [("Child's name", "Ava Smith")])]
    reading = reading_of(email_with(COVER, [("Referral form.docx", docx_form(form)), ("Decision.pdf", letter)]))
    r = reading.referral
    assert r is not None
    assert value(reading, "decision_date") == "2026-03-03" and r.evidence["decision_date"].file == "Decision.pdf"
    assert r.local_authority == "Nottingham" and "refusal_to_issue" in r.dispute_topics
    assert [doc.filename for doc in reading.documents if doc.read] == ["Referral form.docx", "Decision.pdf"]


def test_a_pdf_whose_labels_and_answers_stand_close_is_still_read_as_a_form():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for label, answer in [("Child's name", "Ava Smith"), ("Date of birth", "14/02/2013"), ("Mobile", "07700 900123")]:
        pdf.cell(pdf.get_string_width(label) + 1, 7, label)
        pdf.cell(0, 7, answer, new_x="LMARGIN", new_y="NEXT")
    reading = reading_of(email_with(COVER, [("form.pdf", bytes(pdf.output()))]))
    assert reading.referral is not None
    assert (reading.referral.child_name, value(reading, "child_dob")) == ("Ava Smith", "2013-02-14")
    assert reading.referral.contact_phone == "+447700900123"


def test_a_child_named_in_two_boxes_is_read_whole_and_a_parents_boxes_are_not_the_childs():
    form = [
        ("heading", "Parent/carer details"),
        ("rows", [("First name", "Sarah"), ("Surname", "Nolan"), ("Date of birth", "01/01/1985")]),
        ("heading", "About the child"),
        ("rows", [("First name", "Ruby"), ("Surname", "Hart"), ("Date of birth", "09/03/2015")]),
    ]
    reading = reading_of(email_with(COVER, [("Referral form.docx", docx_form(form))]))
    assert reading.referral is not None
    assert (reading.referral.child_name, value(reading, "child_dob")) == ("Ruby Hart", "2015-03-09")


def test_unticked_options_are_not_answers():
    blank = " " * len("[ ] Certificate only ")
    assert blank_unticked("Service: [ ] Certificate only [X] Mediation") == f"Service: {blank}[X] Mediation"
    assert blank_unticked("EHC plan? Yes [X] No [ ]") == "EHC plan? Yes [X]" + " " * len(" No [ ]")
    form = [("ticks", "Service requested", [("Certificate only", False), ("Mediation", True)]),
            ("text", "Certificate only [ ]"), ("rows", [("Child's name", "Ava Smith")])]  # fmt: skip
    r = reading_of(email_with(COVER, [("form.pdf", pdf_form(form, tick_style="brackets"))])).referral
    assert r is not None and r.service == "mediation"


# ---- what cannot be read: a recorded problem, never a failure ------------------------------------


def _only_document(raw: bytes, options: ReadOptions = OPTIONS):
    reading = reading_of(raw, options)
    [doc] = reading.documents
    return reading, doc


def _odt_without_text() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    return out.getvalue()


BODY = "Hello,\n\nMy son Leo Clarke (DOB 05/06/2012) needs mediation. Our council is Lewisham.\n\nSarah Nolan\n"


@pytest.mark.parametrize(
    "name, data, needs_person, problem",
    [
        ("Referral form.pdf", encrypted_pdf(FORM), True, "encrypted"),
        ("Scan of form.pdf", image_only_pdf(), True, "a scanned PDF with no text layer"),
        ("Old form.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000), True, "an old Word file (.doc)"),
        ("Locked form.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000), True, "encrypted"),
        ("Referral form.pdf", pdf_form(FORM)[:900], False, "a damaged PDF"),
        ("Referral form.docx", b"PK\x03\x04 not really a zip", False, "a damaged file"),
        ("Referral form.odt", _odt_without_text(), False, "damaged"),
    ],
)
def test_an_unreadable_attachment_is_a_recorded_problem_and_the_email_is_still_read(name, data, needs_person, problem):
    reading, doc = _only_document(email_with(BODY, [(name, data)]))
    assert not doc.read and doc.needs_person is needs_person and problem in (doc.problem or "")
    said = reading.summary()["problems"]
    if needs_person:
        assert f"attachment needs a person to read: {name} ({doc.problem})" in said
        assert reading.needs_person == [doc]
    else:
        assert f"attachment {name}: {doc.problem}" in said
    r = reading.referral
    assert r is not None and (r.child_name, r.local_authority, r.service) == ("Leo Clarke", "Lewisham", "mediation")


def test_a_photographed_form_needs_a_person_and_a_signature_logo_is_left_alone():
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Sarah Nolan <sarah.nolan@example.com>", "referrals@example.org", "Form"
    msg.set_content(BODY)
    msg.add_attachment(
        b"\xff\xd8\xff\xe0" + bytes(3000), maintype="image", subtype="jpeg", filename="Referral form.jpg"
    )
    msg.add_attachment(b"\x89PNG" + bytes(300), maintype="image", subtype="png", filename="logo.png")
    reading = reading_of(msg.as_bytes())
    assert [(d.filename, d.kind, d.needs_person) for d in reading.documents] == [("Referral form.jpg", "image", True)]
    assert "attachment needs a person to read: Referral form.jpg" in " ".join(reading.summary()["problems"])


def test_a_form_protected_only_against_editing_opens_without_a_password():
    reading, doc = _only_document(email_with(COVER, [("Referral form.pdf", edit_protected_pdf(FORM))]))
    assert doc.read and doc.problem is None
    assert reading.referral is not None and reading.referral.child_name == "Ava Smith"


def test_reading_an_attachment_is_bounded_in_size_pages_and_time():
    limits = DocumentLimits(max_bytes=10_000)
    big = read_document("Referral form.pdf", "application/pdf", pdf_form(FORM), limits)
    assert big.needs_person and "too large" in (big.problem or "")
    # A Word file is a ZIP: one that would unpack past the bound is not unpacked.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 3_000_000)
    bomb = read_document("form.docx", "", out.getvalue(), DocumentLimits(max_unpacked_bytes=1_000_000))
    assert len(out.getvalue()) < 20_000 and bomb.needs_person and "unpack" in (bomb.problem or "")
    three_pages = pdf_form([("text", "Page one"), *[("text", "x\n" * 60)] * 3])
    part = read_document("long.pdf", "", three_pages, DocumentLimits(max_pages=1))
    assert part.read and part.problem is not None and "the first 1 of" in part.problem
    late = read_document("long.pdf", "", three_pages, DocumentLimits(max_seconds=0))
    assert not late.read and late.needs_person and "time limit" in (late.problem or "")
    # A message's documents share one budget: once it is spent, the rest are listed, not read.
    raw = email_with(COVER, [("one.pdf", pdf_form(FORM)), ("two.pdf", pdf_form(FORM))])
    spent = reading_of(raw, ReadOptions(documents=DocumentLimits(max_total_seconds=0)))
    assert [(d.filename, d.read, d.needs_person) for d in spent.documents] == [
        ("one.pdf", False, True),
        ("two.pdf", False, True),
    ]
    assert "took their 0 s" in (spent.documents[0].problem or "")


# ---- the command line and intake -------------------------------------------------------------------


def test_parse_email_json_lists_the_attachments_and_names_each_fields_source(tmp_path):
    path = tmp_path / "form.eml"
    path.write_bytes(email_with(COVER, [("Referral form.odt", odt_form(FORM)), ("scan.pdf", image_only_pdf())]))
    done = run_main("parse-email", "--json", str(path), settings={"MDESK_VAR_DIR": str(tmp_path / "var")})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["child_dob"] == "2013-02-14" and out["local_authority"] == "Trafford"
    assert out["evidence"]["child_dob"]["file"] == "Referral form.odt"
    assert out["evidence"]["child_dob"]["said"].startswith("from Referral form.odt: Date of birth")
    assert [(a["filename"], a["text_read"], a["needs_person"]) for a in out["attachments"]] == [
        ("Referral form.odt", True, False),
        ("scan.pdf", False, True),
    ]
    assert {"filename", "content_type", "size", "text_read"} <= set(out["attachments"][0])
    assert "attachment needs a person to read: scan.pdf (a scanned PDF with no text layer)" in out["problems"]


def test_intake_opens_the_case_from_the_form_and_notes_what_a_person_must_read(engine, settings):
    old_doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    raw = email_with(COVER, [("Referral form.pdf", pdf_form(FORM)), ("Old letter.doc", old_doc)])
    intake = Intake(engine, settings)  # reading in a worker process, as the daemon does
    try:
        assert intake.handle(SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, "1"), raw))
    finally:
        intake.close()
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert (case.local_authority, case.service) == ("Trafford", "mediation")
        assert case.draft["evidence"]["child_name"]["file"] == "Referral form.pdf"
        notes = [
            e for e in session.exec(select(TimelineEvent).where(TimelineEvent.case_id == case.id)) if e.kind == "note"
        ]
        assert [n.summary for n in notes] == [
            "Attachment needs a person to read: Old letter.doc (an old Word file (.doc) we cannot read)"
        ]
        inbound = session.exec(select(InboundMessage)).one()
        assert any("Old letter.doc" in reason for reason in inbound.reasons)


def test_a_councils_own_form_filled_by_the_parent_gives_the_parents_number_not_the_councils():
    form = [
        ("text", "Brent Council - SEND Service - Brent Civic Centre, Wembley HA9 0FJ - Tel 020 8937 1234"),
        ("heading", "Request for mediation"),
        ("rows", [("Name of child", "Amira Hassan"), ("Parent's name", "Leila Hassan"),
                  ("Parent's telephone number", "07700 900704")]),
        ("text", "Signed: Leila Hassan"),
    ]  # fmt: skip
    raw = email_with(
        "Kind regards,\nLeila Hassan\n", [("Request.docx", docx_form(form))], sender="Leila Hassan <l.h@example.com>"
    )
    r = reading_of(raw).referral
    assert r is not None and r.contact_phone == "+447700900704"


@pytest.mark.parametrize("maker, name", [(pdf_form, "a.pdf"), (docx_form, "a.docx"), (odt_form, "a.odt")])
def test_a_questions_number_in_a_cell_of_its_own_is_not_its_label(maker, name):
    form = [
        ("columns", ["1", "Child's name", "Ava Smith"], ["2", "Date of birth", "14/02/2013"]),
        ("columns", ["3", "Local authority", "Trafford"], ["4", "Mobile", "07700 900123"]),
    ]
    r = reading_of(email_with(COVER, [(name, maker(form))])).referral
    assert r is not None
    assert (r.child_name, r.local_authority, r.contact_phone) == ("Ava Smith", "Trafford", "+447700900123")


@pytest.mark.parametrize("layout", ["rows", "lines", "below"])
def test_labels_marked_required_or_qualified_after_a_dash_are_still_labels(layout):
    form = [
        (layout, [
            ("Child\u2019s name * \u2013 first and last", "Ava Smith"), ("Date of birth *", "14/02/2013"),
            ("Local authority (LA)*", "Trafford"), ("Telephone \u2013 mobile", "07700 900123"),
        ]),
    ]  # fmt: skip
    r = reading_of(email_with(COVER, [("Referral form.docx", docx_form(form))])).referral
    assert r is not None
    assert (r.child_name, r.local_authority, r.contact_phone) == ("Ava Smith", "Trafford", "+447700900123")
    assert r.child_dob is not None and r.child_dob.isoformat() == "2013-02-14"
