"""parse_message on messages written here, one behaviour per test: what a coordinator (or the classifier and
extractor reading ParsedMessage) would notice, and the problem recorded when the mail was broken."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from inbox.html_text import html_to_text
from inbox.message import Address, ParsedMessage
from inbox.parse import parse_message
from inbox.reply_split import split_reply


def has_problem(parsed: ParsedMessage, fragment: str) -> bool:
    return any(fragment in problem for problem in parsed.problems)


# --- headers: RFC 2047 -----------------------------------------------------------------------------


def test_subject_utf8_base64() -> None:
    parsed = parse_message(b"Subject: =?UTF-8?B?Wm/DqyBhbmQgUmVuw6ll?=\n\nbody\n")
    assert parsed.subject == "Zoë and Renée"
    assert parsed.headers["subject"] == "Zoë and Renée"


def test_subject_utf8_quoted_printable_with_underscores() -> None:
    parsed = parse_message(b"Subject: =?utf-8?Q?Mediation_request_for_Zo=C3=AB_=28Section_F=29?=\n\nx\n")
    assert parsed.subject == "Mediation request for Zoë (Section F)"


def test_subject_iso_8859_1() -> None:
    parsed = parse_message(b"Subject: =?iso-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=\n\nx\n")
    assert parsed.subject == "Grüße aus Köln"


def test_subject_mixing_plain_text_and_encoded_words_of_two_charsets() -> None:
    raw = b"Subject: Re: =?utf-8?Q?Zo=C3=AB?= and =?iso-8859-1?Q?Ren=E9e?= (EHCP)\n\nx\n"
    assert parse_message(raw).subject == "Re: Zoë and Renée (EHCP)"


def test_white_space_between_adjacent_encoded_words_is_dropped() -> None:
    raw = b"Subject: =?utf-8?Q?Kind?=  \n =?utf-8?Q?_regards?=\n\nx\n"
    assert parse_message(raw).subject == "Kind regards"


def test_multibyte_character_split_across_two_encoded_words() -> None:
    # "é" is C3 A9 in UTF-8; a sender that cuts words by byte count splits it in two.
    assert parse_message(b"Subject: =?utf-8?Q?Ren=C3?= =?utf-8?Q?=A9e?=\n\nx\n").subject == "Renée"
    assert parse_message(b"Subject: =?utf-8?B?UmVuww==?=\n =?utf-8?B?qWU=?=\n\nx\n").subject == "Renée"


def test_broken_encoded_word_is_kept_and_reported() -> None:
    parsed = parse_message(b"Subject: Hello =?utf-8?Q?caf=C3=A9?= =?utf-8?B?@@@?=\n\nx\n")
    assert parsed.subject.startswith("Hello café")
    assert "=?utf-8?B?@@@?=" in parsed.subject
    assert has_problem(parsed, "header Subject is not valid RFC 2047")


def test_encoded_word_in_unknown_charset_falls_back_and_says_so() -> None:
    parsed = parse_message(b"Subject: =?x-unknown?Q?caf=C3=A9?=\n\nx\n")
    assert parsed.subject == "café"
    assert has_problem(parsed, "charset 'x-unknown' unknown; decoded as utf-8")


def test_encoded_word_without_padding_still_decodes() -> None:
    assert parse_message(b"Subject: =?utf-8?B?VEVTVA?=\n\nx\n").subject == "TEST"


@pytest.mark.parametrize(
    ("label", "encoded", "expected"),
    [
        ("utf8", b"caf=C3=A9", "café"),
        ("cp-1252", b"caf=E9 =93quoted=94", "café “quoted”"),
        ("UTF-7", b"+ANw-bermittlung", "Übermittlung"),
        # Exchange labels UTF-7 so (zammad mail018), and folds inside the encoded word.
        (
            "unicode-1-1-utf-7",
            b"+ANw-bermittlungsstatus  \n\t(Fehlgeschlagen)",
            "Übermittlungsstatus  \t(Fehlgeschlagen)",
        ),
    ],
)
def test_charset_aliases_in_subjects(label: str, encoded: bytes, expected: str) -> None:
    raw = b"Subject: =?" + label.encode() + b"?Q?" + encoded + b"?=\n\nx\n"
    assert parse_message(raw).subject == expected


def test_raw_utf8_header_bytes_are_read_as_utf8() -> None:
    parsed = parse_message("From: Renée Osei <renee@example.com>\nSubject: Zoë\n\nx\n".encode())
    assert parsed.sender == Address("Renée Osei", "renee@example.com")
    assert parsed.subject == "Zoë"
    assert not has_problem(parsed, "8-bit")


def test_raw_8bit_header_in_the_messages_declared_charset() -> None:
    raw = "Subject: 整体提升\nContent-Type: text/plain; charset=gb2312\n\nx\n".encode("gb2312")
    parsed = parse_message(raw)
    assert parsed.subject == "整体提升"
    assert has_problem(parsed, "header Subject has raw 8-bit bytes; decoded as gb2312")


def test_raw_latin1_header_without_any_charset_is_windows_1252() -> None:
    parsed = parse_message("Subject: Trademark\u2122 caf\xe9\n\nx\n".encode("cp1252"))
    assert parsed.subject == "Trademark™ café"
    assert has_problem(parsed, "decoded as windows-1252")


# --- headers: addresses, ids, dates ----------------------------------------------------------------


def test_addresses_are_decoded_lower_cased_and_listed() -> None:
    raw = (
        b"From: =?utf-8?Q?Ren=C3=A9e_Osei?= <Renee.Osei@Example.COM>\n"
        b'To: "Kids Mediation" <referrals@kids-mediation.example.org>, sendcasework@example.gov.uk\n'
        b"Cc: Jo <jo@example.org>\nCc: Sam <sam@example.org>\n"
        b"Reply-To: other@example.com\n\nx\n"
    )
    parsed = parse_message(raw)
    assert parsed.sender == Address("Renée Osei", "renee.osei@example.com")
    assert parsed.to == [
        Address("Kids Mediation", "referrals@kids-mediation.example.org"),
        Address("", "sendcasework@example.gov.uk"),
    ]
    assert [a.email for a in parsed.cc] == ["jo@example.org", "sam@example.org"]  # every Cc header
    assert parsed.reply_to == [Address("", "other@example.com")]


def test_encoded_display_name_containing_a_comma_is_one_address() -> None:
    parsed = parse_message(b"From: =?iso-8859-1?Q?Stanhope,_Olivia?= <olivia@example.gov.uk>\n\nx\n")
    assert parsed.sender == Address("Stanhope, Olivia", "olivia@example.gov.uk")


def test_quoted_display_name_with_commas() -> None:
    parsed = parse_message(b'From: "Smith, Karoline, Example DE" <Karoline.Smith@example.com>\n\nx\n')
    assert parsed.sender == Address("Smith, Karoline, Example DE", "karoline.smith@example.com")


def test_address_without_angle_brackets_after_a_name() -> None:
    # zammad mail087: "From: Test test@example.com"
    assert parse_message(b"From: Test test@example.com\n\nx\n").sender == Address("Test", "test@example.com")


def test_comment_after_the_display_name_is_not_part_of_it() -> None:
    raw = b"From: MAILER-DAEMON (Mail Delivery System) <postmaster@example.com>\n\nx\n"
    assert parse_message(raw).sender == Address("MAILER-DAEMON", "postmaster@example.com")
    quoted = b'From: "Jo Bloggs (SENCO)" <jo@school.example.org>\n\nx\n'
    assert parse_message(quoted).sender == Address("Jo Bloggs (SENCO)", "jo@school.example.org")


def test_first_from_with_a_domain_wins_over_junk() -> None:
    # zammad mail017 carries "From: [??????]" before the real From.
    raw = b"From: [??????]\nFrom: =?utf-8?B?6YO955C5?= <ghgbwum@185.com.cn>\n\nx\n"
    assert parse_message(raw).sender == Address("都琹", "ghgbwum@185.com.cn")


def test_unparseable_address_list_falls_back_to_the_addresses_in_it() -> None:
    parsed = parse_message(b"From: bob@example.com bill@example.org\n\nx\n")
    assert parsed.sender == Address("", "bob@example.com")
    assert has_problem(parsed, "not a valid address list")


def test_group_syntax_and_empty_groups() -> None:
    parsed = parse_message(b"To: undisclosed-recipients:;\nCc: Team: a@example.com, b@example.com;\n\nx\n")
    assert parsed.to == []
    assert [a.email for a in parsed.cc] == ["a@example.com", "b@example.com"]


def test_message_ids_without_angle_brackets() -> None:
    raw = (
        b"Message-ID: <CAxk+pdT@mail.example.com>\n"
        b"In-Reply-To: <KM-ENQ-2340.2025@kids-mediation.example.org>\n"
        b"References: <a1@example.com>\n <a2@example.com> <KM-ENQ-2340.2025@kids-mediation.example.org>\n\nx\n"
    )
    parsed = parse_message(raw)
    assert parsed.message_id == "CAxk+pdT@mail.example.com"
    assert parsed.in_reply_to == ["KM-ENQ-2340.2025@kids-mediation.example.org"]
    assert parsed.references == ["a1@example.com", "a2@example.com", "KM-ENQ-2340.2025@kids-mediation.example.org"]


def test_message_id_that_lacks_brackets_altogether() -> None:
    # zammad mail087: "Message-Id: 20200123143934.05D7EE792E@example.com"
    parsed = parse_message(b"Message-Id: 20200123143934.05D7EE792E@example.com\n\nx\n")
    assert parsed.message_id == "20200123143934.05D7EE792E@example.com"


def test_empty_in_reply_to_gives_an_empty_list() -> None:
    assert parse_message(b"In-Reply-To: \nReferences:\n\nx\n").in_reply_to == []


def test_return_path_absent_null_and_present() -> None:
    assert parse_message(b"Subject: x\n\nx\n").return_path is None
    assert parse_message(b"Return-Path: <>\n\nx\n").return_path == ""
    assert parse_message(b"Return-Path: <Bounce@Example.org>\n\nx\n").return_path == "bounce@example.org"


def test_date_is_aware_in_its_own_zone() -> None:
    parsed = parse_message(b"Date: Mon, 16 Jun 2025 09:40:12 +0100 (GMT Standard Time)\n\nx\n")
    assert parsed.date == datetime(2025, 6, 16, 9, 40, 12, tzinfo=timezone(timedelta(hours=1)))


def test_date_without_a_zone_is_utc() -> None:
    for value in (b"Mon, 16 Jun 2025 09:40:12 -0000", b"Mon, 16 Jun 2025 09:40:12"):
        parsed = parse_message(b"Date: " + value + b"\n\nx\n")
        assert parsed.date == datetime(2025, 6, 16, 9, 40, 12, tzinfo=UTC)
        assert parsed.date.tzinfo is not None


def test_unparseable_date_is_none_and_reported() -> None:
    parsed = parse_message(b"Date: Fri, 18 Jul 2014 nt failed permanently:\n\nx\n")
    assert parsed.date is None
    assert has_problem(parsed, "Date header 'Fri, 18 Jul 2014 nt failed permanently:' unparseable")


def test_numeric_web_form_date_is_read_day_first() -> None:
    parsed = parse_message(b"Date: 06/10/2025 21:17\n\nx\n")
    assert parsed.date == datetime(2025, 10, 6, 21, 17, tzinfo=UTC)
    assert has_problem(parsed, "is not RFC 5322; read as day/month/year")


def test_missing_headers_are_reported_and_fields_empty() -> None:
    parsed = parse_message(b"\nJust a body.\n")
    assert parsed.sender is None
    assert parsed.subject == ""
    assert parsed.message_id is None
    assert parsed.date is None
    assert parsed.text == "Just a body."
    for problem in ("no From header", "no Date header", "no Message-ID header"):
        assert has_problem(parsed, problem)


def test_sender_falls_back_to_reply_to_when_from_is_missing() -> None:
    # zammad mail016: spam without From; the address replies go to is Reply-To.
    parsed = parse_message(b"From someone@example.net Tue Oct 29 03:52:03 2013\nReply-To: <vip@example.com>\n\nx\n")
    assert parsed.sender == Address("", "vip@example.com")
    assert has_problem(parsed, "no From header")
    assert has_problem(parsed, "sender taken from Reply-To")


def test_sender_falls_back_to_the_mbox_envelope_line() -> None:
    parsed = parse_message(b'From someone@example.net Tue Oct 29 03:52:03 2013\nFrom: "Name" <>\n\nx\n')
    assert parsed.sender == Address("Name", "someone@example.net")
    assert has_problem(parsed, "From header has no usable address")


def test_headers_dict_is_lower_cased_decoded_first_occurrence() -> None:
    raw = b"Received: first\nReceived: second\nX-Custom: =?utf-8?Q?caf=C3=A9?=\nSUBJECT: Hi\n\nx\n"
    parsed = parse_message(raw)
    assert parsed.headers["received"] == "first"
    assert parsed.headers["x-custom"] == "café"
    assert parsed.header("Subject") == "Hi"


def test_long_header_values_are_unfolded() -> None:
    parsed = parse_message(b"Subject: a long\n subject line\n\tfolded twice\n\nx\n")
    assert parsed.subject == "a long subject line\tfolded twice"


# --- bodies ------------------------------------------------------------------------------------------


def test_plain_text_body() -> None:
    parsed = parse_message(b"Content-Type: text/plain; charset=utf-8\n\nHello,\n\nI need mediation.\n")
    assert parsed.text == "Hello,\n\nI need mediation."
    assert parsed.html is None
    assert parsed.content_types == ["text/plain"]


def test_html_only_body_becomes_readable_text() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        b"<html><head><style>p{color:red}</style><title>Ignore me</title></head><body>"
        b"<p class=3DMsoNormal>Dear Kids Mediation,</p><p class=3DMsoNormal>&nbsp;</p>"
        b"<p class=3DMsoNormal>Child&#8217;s name: Kwame<br>DOB: 19/06/2013</p></body></html>\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "Dear Kids Mediation,\n\nChild’s name: Kwame\nDOB: 19/06/2013"
    assert parsed.html is not None and "<p class=MsoNormal>" in parsed.html


def test_multipart_alternative_prefers_plain_text() -> None:
    raw = (
        b"Content-Type: multipart/alternative; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nThe plain words.\n"
        b"--b\nContent-Type: text/html\n\n<p>The <b>HTML</b> words.</p>\n--b--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "The plain words."
    assert parsed.html == "<p>The <b>HTML</b> words.</p>"
    assert parsed.attachments == []  # an alternative rendering is not an attachment
    assert parsed.content_types == ["multipart/alternative", "text/plain", "text/html"]


def test_multipart_alternative_with_empty_plain_uses_html() -> None:
    # zammad mail034
    raw = (
        b"Content-Type: multipart/alternative; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\n\n"
        b"--b\nContent-Type: text/html\n\n<b>some html text</b>\n--b--\n"
    )
    assert parse_message(raw).text == "some html text"


def test_mixed_with_related_html_and_inline_image() -> None:
    image = base64.b64encode(b"\x89PNG fake image bytes")
    raw = (
        b"Content-Type: multipart/mixed; boundary=outer\n\n"
        b"--outer\nContent-Type: multipart/related; boundary=rel\n\n"
        b"--rel\nContent-Type: text/html\n\n<p>See the picture <img src=cid:pic1></p>\n"
        b"--rel\nContent-Type: image/png\nContent-ID: <pic1>\nContent-Disposition: inline\n"
        b"Content-Transfer-Encoding: base64\n\n" + image + b"\n--rel--\n"
        b"--outer--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "See the picture"
    [picture] = parsed.attachments
    assert (picture.content_type, picture.content_id, picture.inline) == ("image/png", "pic1", True)
    assert picture.payload == b"\x89PNG fake image bytes"


def test_latin1_body_declared_as_utf8_is_reported_and_readable() -> None:
    raw = b"Content-Type: text/plain; charset=utf-8\n\nCaf\xe9 au lait\n"
    parsed = parse_message(raw)
    assert parsed.text == "Caf\ufffd au lait"
    assert has_problem(parsed, "text/plain part: not valid utf-8; undecodable bytes replaced")


@pytest.mark.parametrize(
    ("label", "body", "text", "problem"),
    [
        ("x-unknown", "café".encode(), "café", "charset 'x-unknown' unknown; decoded as utf-8"),
        ("x-unknown", "café".encode("cp1252"), "café", "charset 'x-unknown' unknown; decoded as windows-1252"),
        ("utf8", "café".encode(), "café", None),
        ("cp-1252", "“café”".encode("cp1252"), "“café”", None),
        ("iso-8859-1", b"price \x80 5", "price € 5", None),  # read as windows-1252
        ("unicode-1-1-utf-7", "Übermittlung".encode("utf-7"), "Übermittlung", None),
        ("ks_c_5601-1987", "안녕하세요".encode("cp949"), "안녕하세요", None),
        ("iso-2022-jp", "ツール".encode("cp932"), "ツール", "not valid iso-2022-jp; decoded as cp932"),
        ("", "café".encode("cp1252"), "café", "8-bit text without a charset; decoded as windows-1252"),
    ],
)
def test_body_charsets_and_fallbacks(label: str, body: bytes, text: str, problem: str | None) -> None:
    charset = f"; charset={label}".encode() if label else b""
    parsed = parse_message(b"Content-Type: text/plain" + charset + b"\n\n" + body + b"\n")
    assert parsed.text == text
    if problem:
        assert has_problem(parsed, problem), parsed.problems
    else:
        assert not any("charset" in p or "valid" in p for p in parsed.problems), parsed.problems


def test_html_part_without_charset_uses_its_meta_tag() -> None:
    html = '<html><head><meta charset="windows-1251"></head><body>Привет</body></html>'.encode("cp1251")
    assert parse_message(b"Content-Type: text/html\n\n" + html).text == "Привет"


def test_transfer_encoding_with_stray_space_or_semicolon_still_decodes() -> None:
    qp = b"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable \n\ncaf=C3=A9\n"
    b64 = b"Content-Type: text/plain\nContent-Transfer-Encoding: base64;\n\n" + base64.b64encode("café".encode())
    assert parse_message(qp).text == "café"
    assert parse_message(b64).text == "café"


def test_unknown_transfer_encoding_keeps_the_body_and_says_so() -> None:
    parsed = parse_message(b"Content-Type: text/plain\nContent-Transfer-Encoding: x-gzip64\n\nraw text\n")
    assert parsed.text == "raw text"
    assert has_problem(parsed, "unknown Content-Transfer-Encoding 'x-gzip64'")


def test_multipart_without_boundary_keeps_its_text() -> None:
    raw = b"Content-Type: multipart/report; report-type=delivery-status\n\nI'm a multipart message without boundary\n"
    parsed = parse_message(raw)
    assert "without boundary" in parsed.text
    assert has_problem(parsed, "multipart without boundary")


def test_multipart_without_closing_boundary() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nstill here\n"
    parsed = parse_message(raw)
    assert parsed.text == "still here"
    assert has_problem(parsed, "multipart without closing boundary")


# --- attachments and forwarded messages -----------------------------------------------------------


def test_attachment_listed_with_name_type_size_hash_and_payload() -> None:
    pdf = b"%PDF-1.4 refusal letter"
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nI have attached the council's letter.\n"
        b'--b\nContent-Type: application/pdf; name="LCC refusal letter.pdf"\n'
        b'Content-Disposition: attachment; filename="LCC refusal letter.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(pdf) + b"\n--b--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "I have attached the council's letter."
    [letter] = parsed.attachments
    assert letter.filename == "LCC refusal letter.pdf"
    assert letter.content_type == "application/pdf"
    assert letter.size == len(pdf)
    assert letter.sha256 == hashlib.sha256(pdf).hexdigest()
    assert letter.payload == pdf
    assert letter.inline is False


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        (b"attachment; filename*=UTF-8''Zo%C3%AB%20EHCP.pdf", "Zoë EHCP.pdf"),
        (b"attachment; filename*0*=UTF-8''Zo%C3%AB%20; filename*1*=EHCP.pdf", "Zoë EHCP.pdf"),
        (b'attachment; filename="=?utf-8?Q?Zo=C3=AB_EHCP.pdf?="', "Zoë EHCP.pdf"),
        ('attachment; filename="Hofjägeralle.jpg"'.encode("latin-1"), "Hofjägeralle.jpg"),
        (b"attachment", None),
    ],
)
def test_attachment_file_names(disposition: bytes, name: str | None) -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee attached\n"
        b"--b\nContent-Type: application/octet-stream\nContent-Disposition: " + disposition + b"\n\ndata\n--b--\n"
    )
    [attachment] = parse_message(raw).attachments
    assert attachment.filename == name


def test_message_rfc822_attachment_is_a_forwarded_part_not_body_text() -> None:
    raw = (
        b"From: Kelly <kelly@example.net>\nSubject: Fwd: Request for mediation\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nSee the attached request.\n"
        b"--b\nContent-Type: message/rfc822\n\n"
        b"From: Kelly Tranter <kelly.tranter@example.net>\nSubject: Request for mediation\n"
        b"Date: Thu, 12 Jun 2025 19:02:00 +0100\nContent-Type: text/plain\n\n"
        b"Childs full name - Maisie Tranter\n"
        b"--b--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "See the attached request."
    [forwarded] = parsed.forwarded
    assert forwarded.sender == Address("Kelly Tranter", "kelly.tranter@example.net")
    assert forwarded.subject == "Request for mediation"
    assert forwarded.date == "Thu, 12 Jun 2025 19:02:00 +0100"
    assert forwarded.text == "Childs full name - Maisie Tranter"
    [original] = parsed.attachments  # the original message stays reachable, e.g. for its Message-ID
    assert original.content_type == "message/rfc822"
    assert original.filename == "Request for mediation.eml"
    assert b"Subject: Request for mediation" in original.payload
    assert parsed.content_types == ["multipart/mixed", "text/plain", "message/rfc822", "text/plain"]


def test_delivery_status_is_not_body_text_but_reachable() -> None:
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nA message that you sent could not be delivered.\n"
        b"--b\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; andrew@example.org\n"
        b"Action: failed\nStatus: 5.1.1\n"
        b"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <ack-1@kids-mediation.example.org>\n"
        b"--b--\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "A message that you sent could not be delivered."
    status, headers = parsed.attachments
    assert status.content_type == "message/delivery-status"
    assert b"Status: 5.1.1" in status.payload and b"Action: failed" in status.payload
    assert headers.content_type == "text/rfc822-headers"
    assert b"ack-1@kids-mediation.example.org" in headers.payload
    assert parsed.content_types == ["multipart/report", "text/plain", "message/delivery-status", "text/rfc822-headers"]


def test_inline_gmail_forward_is_a_forwarded_part() -> None:
    raw = (
        b"Subject: Fwd: Request for mediation\n\n"
        b"Warrington SEN team told me to send this to you.\n\n"
        b"---------- Forwarded message ---------\n"
        b"From: Kelly Tranter <kelly.tranter@example.net>\n"
        b"Date: Thu, 12 Jun 2025 at 19:02\n"
        b"Subject: Request for mediation\n"
        b"To: <sendcasework@warrington.example.gov.uk>\n\n\n"
        b"Please can I ask for mediation.\nPhone - +44 (0)7700 900 679\n\nThanks\nKelly\n"
    )
    parsed = parse_message(raw)
    assert parsed.new_text == "Warrington SEN team told me to send this to you."
    assert parsed.quoted_text == ""
    [forwarded] = parsed.forwarded
    assert forwarded.sender == Address("Kelly Tranter", "kelly.tranter@example.net")
    assert forwarded.subject == "Request for mediation"
    assert forwarded.date == "Thu, 12 Jun 2025 at 19:02"
    assert forwarded.text == "Please can I ask for mediation.\nPhone - +44 (0)7700 900 679\n\nThanks\nKelly"


def test_apple_mail_forward_without_a_note_keeps_all_text_new() -> None:
    text = (
        "Begin forwarded message:\n\n"
        "From: Jo Bloggs <jo@example.com>\nSubject: EHCP\nDate: 3 June 2025 at 10:00:00 BST\n"
        "To: Sam <sam@example.org>\n\nMy son needs mediation.\n"
    )
    split = split_reply(text, "Fwd: EHCP")
    assert split.forwarded[0].sender == Address("Jo Bloggs", "jo@example.com")
    assert split.forwarded[0].text == "My son needs mediation."
    assert split.new_text == text.strip()  # nothing else was said: never leave new_text empty


def test_outlook_forward_block_under_a_fw_subject() -> None:
    text = (
        "Please see below.\n\n"
        "________________________________\n"
        "From: Smith, Jo <jo.smith@example.gov.uk>\n"
        "Sent: 16 June 2025 09:40\n"
        "To: SEN Team <sen@example.gov.uk>\n"
        "Subject: Mediation for Felix\n\n"
        "Felix Ashdown, DOB 14/03/2014.\n"
    )
    split = split_reply(text, "FW: Mediation for Felix")
    assert split.new_text == "Please see below."
    [forwarded] = split.forwarded
    assert forwarded.sender == Address("Smith, Jo", "jo.smith@example.gov.uk")
    assert forwarded.date == "16 June 2025 09:40"
    assert forwarded.text == "Felix Ashdown, DOB 14/03/2014."


def test_gmail_reply_separates_quoted_history() -> None:
    raw = (
        b"Subject: Re: Your mediation enquiry\nContent-Type: text/plain\n\n"
        b"Please issue the certificate.\n\nMy number's 020 7946 0921.\n\nBimbo\n\n"
        b"On Thu, 12 Jun 2025 at 15:41, Sam Whitlock <referrals@kids-mediation.example.org> wrote:\n\n"
        b"> Dear Mrs Ogunleye,\n>\n> Our number is 020 7946 0000.\n"
    )
    parsed = parse_message(raw)
    assert parsed.new_text == "Please issue the certificate.\n\nMy number's 020 7946 0921.\n\nBimbo"
    assert parsed.quoted_text.startswith("On Thu, 12 Jun 2025 at 15:41, Sam Whitlock")
    assert "020 7946 0000" in parsed.quoted_text and "020 7946 0000" not in parsed.new_text
    assert parsed.forwarded == []
    assert "> Dear Mrs Ogunleye" in parsed.text  # text is the whole body


def test_attribution_wrapped_over_two_lines() -> None:
    text = "Yes please.\n\nOn Thu, 12 Jun 2025 at 15:41, Sam Whitlock <\nsam@example.org> wrote:\n\n> Shall we?\n"
    split = split_reply(text)
    assert split.new_text == "Yes please."
    assert split.quoted_text.startswith("On Thu, 12 Jun 2025 at 15:41, Sam Whitlock <\nsam@example.org> wrote:")


def test_outlook_original_message_reply() -> None:
    text = (
        "Thanks, that date works.\n\n"
        "-----Original Message-----\nFrom: Sam <sam@example.org>\nSent: Monday, June 16, 2025 9:40 AM\n"
        "To: Jo <jo@example.com>\nSubject: Mediation date\n\nWould 3 July suit?\n"
    )
    split = split_reply(text, "RE: Mediation date")
    assert split.new_text == "Thanks, that date works."
    assert split.quoted_text.startswith("-----Original Message-----")
    assert "Would 3 July suit?" in split.quoted_text
    assert split.forwarded == []


def test_outlook_from_sent_block_reply() -> None:
    text = (
        "Hello\n\nFrom: xxx@xxx.mailgun.org [mailto:xxx@xxx.mailgun.org]\nSent: March-09-12 4:22 PM\n"
        "To: Dan Le\nSubject: The manager has commented on your Loop\n\nHi dan\n"
    )
    split = split_reply(text, "RE: The manager has commented")
    assert split.new_text == "Hello"
    assert split.quoted_text.startswith("From: xxx@xxx.mailgun.org")


@pytest.mark.parametrize(
    "attribution",
    [
        "Am 07.05.2012 08:10, schrieb Martin Edenhofer:",
        "Le 3 juin 2025 à 10:00, Jo Bloggs <jo@example.com> a écrit :",
        "El 3 jun 2025, a las 10:00, Jo Bloggs <jo@example.com> escribió:",
        "Op 3 jun. 2025 om 10:00 heeft Jo Bloggs <jo@example.com> het volgende geschreven:",
        "On Apr 3, 2012, at 4:19 PM, bob wrote:",
        '02.04.2012 14:20 пользователь "bob@example.com" написал:',
    ],
)
def test_reply_attributions_in_other_languages(attribution: str) -> None:
    split = split_reply(f"New words.\n\n{attribution}\n> old words\n")
    if "geschreven" in attribution:  # Apple's Dutch form is not an "On ... wrote:" line: the quote still goes
        assert split.new_text == f"New words.\n\n{attribution}"
    else:
        assert split.new_text == "New words."
    assert "> old words" in split.quoted_text


def test_bottom_posted_reply_keeps_the_new_text_below_the_quote() -> None:
    text = "On Mon, 2 Jun 2025, Sam <sam@example.org> wrote:\n> Can you call us?\n\nYes, on 07700 900 123.\n"
    split = split_reply(text)
    assert split.new_text == "Yes, on 07700 900 123."
    assert "> Can you call us?" in split.quoted_text


def test_a_message_that_is_all_quote_keeps_its_text() -> None:
    text = "> only quoted lines\n> nothing else\n"
    split = split_reply(text)
    assert split.new_text == text.strip()
    assert split.quoted_text == ""


def test_a_sentence_that_mentions_writing_is_not_an_attribution() -> None:
    text = "My daughter's teacher wrote:\nShe needs 1:1 support all day.\n"
    assert split_reply(text).new_text == text.strip()


def test_html_reply_blockquote_becomes_quoted_text() -> None:
    raw = (
        b"Content-Type: text/html\n\nHello<br><br><div class=gmail_quote>On Mon, Apr 2, 2012 at 6:26 PM, "
        b"Megan &lt;m@example.com&gt; wrote:<br><blockquote class=gmail_quote>Hi<br>there</blockquote></div>"
    )
    parsed = parse_message(raw)
    assert parsed.new_text == "Hello"
    assert parsed.quoted_text == "On Mon, Apr 2, 2012 at 6:26 PM, Megan <m@example.com> wrote:\n> Hi\n> there"


# --- signatures ----------------------------------------------------------------------------------


def test_dash_dash_space_signature() -> None:
    split = split_reply("Please call me.\n\n-- \nJo Bloggs\nSENCo, Brookfield Academy\n01632 960 782\n")
    assert split.new_text == "Please call me."
    assert split.signature == "-- \nJo Bloggs\nSENCo, Brookfield Academy\n01632 960 782"


def test_sign_off_block_with_contact_details_is_kept_as_signature() -> None:
    text = (
        "Could you let me know your availability?\n\nKind regards,\n\nYetunde Afolabi\n"
        "Senior SEND Officer | London Borough of Lewisham\nDDI: 020 7946 0934\n"
    )
    split = split_reply(text)
    assert split.new_text == "Could you let me know your availability?"
    assert split.signature.startswith("Kind regards,")
    assert "020 7946 0934" in split.signature


def test_sent_from_my_phone_is_a_signature() -> None:
    split = split_reply("Yes please.\n\nSent from my iPhone\n")
    assert (split.new_text, split.signature) == ("Yes please.", "Sent from my iPhone")


def test_thanks_inside_a_sentence_is_not_a_sign_off() -> None:
    text = "Thanks for your help with this.\nCan you also call my husband on 07700 900 669?\n"
    split = split_reply(text)
    assert split.new_text == text.strip()
    assert split.signature == ""


def test_long_text_after_dashes_is_not_a_signature() -> None:
    body = "\n".join(f"line {n} of a long message" for n in range(40))
    split = split_reply(f"Intro\n--\n{body}\n")
    assert split.signature == ""


# --- HTML to text ------------------------------------------------------------------------------------


def test_table_rows_stay_on_one_line() -> None:
    html = (
        "<table><tr><td><p class=MsoNormal><b>Name of child</b></p></td><td></td>"
        "<td><p class=MsoNormal>Felix&nbsp;Ashdown</p></td></tr>"
        "<tr><th>D.O.B</th><td>14/03/2014</td></tr></table>"
    )
    assert html_to_text(html) == "Name of child | Felix Ashdown\nD.O.B | 14/03/2014"


def test_html_junk_is_dropped_and_entities_decoded() -> None:
    html = (
        "<html><head><title>t</title><style>p {}</style><script>alert(1)</script></head><body>"
        "<!--[if gte mso 9]><xml><o:shapedefaults/></xml><![endif]-->"
        "<p>Fish &amp; chips &lt;3 &eacute;&#233;&#xE9;</p>"
        "<ul><li>one</li><li>two</li></ul><div><br></div><div><br></div><div><br></div><p>end</p></body></html>"
    )
    assert html_to_text(html) == "Fish & chips <3 ééé\n\n- one\n- two\n\nend"


def test_pathologically_nested_html_is_read_without_the_tree() -> None:
    assert html_to_text("<div>" * 5000 + "deep text" + "</div>" * 10) == "deep text"


# --- broken input ----------------------------------------------------------------------------------


def test_empty_input() -> None:
    parsed = parse_message(b"")
    assert isinstance(parsed, ParsedMessage)
    assert (parsed.text, parsed.subject, parsed.sender) == ("", "", None)
    assert has_problem(parsed, "empty message")
    assert parsed.sha256 == hashlib.sha256(b"").hexdigest()


def test_26_bytes_of_garbage() -> None:
    raw = b"// Not an RFC-822 Document"  # enmime/erroneous.raw
    parsed = parse_message(raw)
    assert parsed.text == "// Not an RFC-822 Document"
    assert has_problem(parsed, "no blank line between headers and body")
    assert parsed.raw == raw


def test_binary_garbage_never_raises() -> None:
    parsed = parse_message(bytes(range(256)) * 4)
    assert isinstance(parsed.text, str)


def test_bytearray_input_is_accepted() -> None:
    assert parse_message(bytearray(b"Subject: hi\n\nx\n")).subject == "hi"


def test_crlf_line_endings() -> None:
    parsed = parse_message(b"From: a@example.com\r\nSubject: CRLF\r\n\r\nline one\r\nline two\r\n")
    assert (parsed.subject, parsed.text) == ("CRLF", "line one\nline two")


def test_bare_cr_line_endings() -> None:
    parsed = parse_message(b"From: a@example.com\rSubject: CR\r\rline one\rline two\r")
    assert (parsed.subject, parsed.text) == ("CR", "line one\nline two")
    assert parsed.sender == Address("", "a@example.com")
    assert has_problem(parsed, "bare CR line endings")


def test_mbox_from_line_first() -> None:
    raw = b"From MAILER-DAEMON  Fri Nov 15 14:16:10 2013\nFrom: a@example.com\nSubject: mbox\n\nbody\n"
    parsed = parse_message(raw)
    assert (parsed.subject, parsed.sender, parsed.text) == ("mbox", Address("", "a@example.com"), "body")


def test_junk_line_before_the_headers() -> None:
    # zammad mail068 starts with "---- Original email message ----"
    raw = (
        b"---- Original email message ----\r\nTo: helpdesk@example.cz\r\nSubject: Contact from Server\r\n"
        b"From: x@example.cz\r\n\r\nContact form\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Contact from Server"
    assert parsed.sender == Address("", "x@example.cz")
    assert parsed.text == "Contact form"
    assert has_problem(parsed, "junk line(s) before the headers ignored")


def test_header_continuation_without_indentation() -> None:
    # zammad mail054: a long X-Brightmail-Tracker value folded without leading white space
    raw = (
        b"Return-Path: <k@example.com>\nX-Brightmail-Tracker: H4sIAAAAAAAAA+NgFlrIKsWRWlGSWpSXmKPExsWi75nTrTtrwZM\n"
        b"Ig5drOCwmrVzP5sDoseXbDeYAxijWzLyk/IoE1owFz6ezFkxKrWjafpWpgfFOchcjF4eQwDZG\n"
        b'X-Env-Sender: k@example.com\nFrom: "Smith, Karoline" <k@example.com>\nSubject: AW: One Net Business\n\n'
        b"some text\n"
    )
    parsed = parse_message(raw)
    assert parsed.sender == Address("Smith, Karoline", "k@example.com")
    assert parsed.subject == "AW: One Net Business"
    assert parsed.text == "some text"
    assert parsed.headers["x-brightmail-tracker"].endswith("jF4eQwDZG")
    assert has_problem(parsed, "header continuation line without indentation")


def test_body_without_blank_line_after_headers_stays_body() -> None:
    parsed = parse_message(b"Subject: hi\nHello there,\nthis is the body\n")
    assert parsed.subject == "hi"
    assert parsed.text == "Hello there,\nthis is the body"


def test_space_before_header_colon_is_obsolete_but_read() -> None:
    parsed = parse_message(b"Subject : obsolete syntax\nFrom : a@example.com\n\nbody\n")
    assert (parsed.subject, parsed.sender) == ("obsolete syntax", Address("", "a@example.com"))


def test_deeply_nested_forwards_keep_the_headers_and_the_text() -> None:
    raw = b"Subject: deep\nContent-Type: message/rfc822\n\n" + b"Content-Type: message/rfc822\n\n" * 3000 + b"end\n"
    parsed = parse_message(raw)
    assert parsed.subject == "deep"
    assert has_problem(parsed, "nested too deeply")
    assert parsed.text.endswith("end")


# --- hostile parameters: charsets and codecs that are not text charsets --------------------------------
# "idna" and "undefined" are Python codecs that raise UnicodeError whatever the error handler, so a part
# labelled with one must be read around, never let it take the whole message down to plain text.


def _forward_of(inner: bytes) -> bytes:
    return (
        b"From: Kelly <kelly@example.net>\nSubject: fw\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nsee below\n"
        b"--B\nContent-Type: message/rfc822\n\n" + inner + b"\n--B--\n"
    )


@pytest.mark.parametrize("charset", [b"idna", b"undefined"])
def test_forwarded_text_in_a_codec_that_always_fails_is_still_a_forwarded_message(charset: bytes) -> None:
    inner = (
        b"From: Jo <jo@example.org>\nSubject: Request for mediation\n"
        b'Content-Type: text/plain; charset="' + charset + b'"\nContent-Transfer-Encoding: 8bit\n\n'
        b"Caf\xe9 meeting\n"
    )
    parsed = parse_message(_forward_of(inner))
    assert not has_problem(parsed, "could not be parsed")
    assert parsed.sender == Address("Kelly", "kelly@example.net")
    assert [f.subject for f in parsed.forwarded] == ["Request for mediation"]
    assert [a.filename for a in parsed.attachments] == ["Request for mediation.eml"]


def test_multipart_without_boundary_in_a_codec_that_always_fails_keeps_its_text() -> None:
    raw = (
        b"From: jo@example.org\nSubject: hello\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; charset=idna\nContent-Transfer-Encoding: 8bit\n\nCaf\xe9 meeting\n"
    )
    parsed = parse_message(raw)
    assert not has_problem(parsed, "could not be parsed")
    assert (parsed.subject, parsed.text) == ("hello", "Café meeting")


def test_boundary_in_a_codec_that_always_fails_keeps_headers_and_body_text() -> None:
    raw = (
        b"From: Jo <jo@example.org>\nSubject: hello\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary*=undefined''XX\n\n"
        b"--XX\nContent-Type: text/plain\n\nhi there\n--XX--\n"
    )
    parsed = parse_message(raw)
    assert (parsed.subject, parsed.sender) == ("hello", Address("Jo", "jo@example.org"))
    assert "hi there" in parsed.text
    assert has_problem(parsed, "MIME structure unreadable")


def test_file_name_in_a_codec_that_always_fails_is_a_problem_not_a_silent_gap() -> None:
    raw = (
        b"From: jo@example.org\nSubject: form\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nform attached\n--B\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=idna''%FF%FEform.pdf\nContent-Transfer-Encoding: base64\n\n"
        b"JVBERi0xLjQK\n--B--\n"
    )
    parsed = parse_message(raw)
    assert [(a.content_type, a.filename, a.payload) for a in parsed.attachments] == [
        ("application/pdf", None, b"%PDF-1.4\n")
    ]
    assert has_problem(parsed, "application/pdf part: file name unreadable")


def test_date_with_numbers_too_large_for_a_date_is_unparseable_not_a_crash() -> None:
    raw = b"From: jo@example.org\nSubject: s\nDate: Mon, 1 Jan 99999999999999999999 00:00 +0000\n\nx\n"
    parsed = parse_message(raw)
    assert (parsed.subject, parsed.date, parsed.text) == ("s", None, "x")
    assert has_problem(parsed, "unparseable")


def test_base64_with_a_stray_semicolon_and_a_truncated_body_keeps_the_raw_body() -> None:
    raw = (
        b"From: jo@example.org\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nsee file\n--B\nContent-Type: application/octet-stream\n"
        b"Content-Disposition: attachment; filename=a.bin\nContent-Transfer-Encoding: base64;\n\nAAAAA\n--B--\n"
    )
    parsed = parse_message(raw)
    assert [(a.filename, a.payload) for a in parsed.attachments] == [("a.bin", b"AAAAA")]
    assert has_problem(parsed, "application/octet-stream part could not be decoded; raw body kept")


def test_encoded_words_joined_per_charset_stretch() -> None:
    """Adjacent encoded words in one charset (whatever its case) are joined as bytes before decoding, so a
    character split across two words survives; a change of charset starts a new stretch; a header of
    thousands of words is decoded whole."""
    from inbox.parse.headers import decode_words

    problems: list[str] = []
    assert decode_words("=?utf-8?q?=C3?= =?UTF-8?q?=A9?=", problems, "subject") == "\u00e9"
    mixed = "=?utf-8?q?a?= =?UTF-8?q?b?= =?iso-8859-1?q?=E9?= =?utf-8?q?c?= tail"
    assert decode_words(mixed, problems, "subject") == "ab\u00e9c tail"
    assert decode_words(" ".join(["=?utf-8?q?x?="] * 5000), problems, "subject") == "x" * 5000
    assert problems == []
