"""parse_message on the real-mail corpus (../shared/corpus) and the labelled referral samples.

Every file must come back as a well-formed ParsedMessage (no timing assertions: bounded time is the job of
the guards in inbox/parse/ and of tests/test_parse_properties.py). Where Zammad's own test suite says what
its parser makes of a message, we agree with it, except where Zammad is wrong: each such case is listed
in ZAMMAD_DIFFERS with our value and the reason.

Agreement with Zammad 5.2.2 (68 messages), counted over the fields its files state:
sender address 64/66, display name 62/66, subject 67/68, body 59/64 - every difference below.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from inbox.html_text import html_to_text
from inbox.message import Address, Attachment, ForwardedPart, ParsedMessage
from inbox.parse import parse_message
from inbox.parse.attachments import decode_attachment, payload_of
from tests.conftest import CORPUS

ZAMMAD_EXPECTED = CORPUS / "expected" / "zammad"
ZAMMAD_MAIL = CORPUS / "mail" / "zammad"


def read(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def assert_well_formed(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    for name in ("sha256", "subject", "text", "new_text", "quoted_text", "signature"):
        assert isinstance(getattr(parsed, name), str), name
    assert parsed.message_id is None or isinstance(parsed.message_id, str)
    assert parsed.return_path is None or isinstance(parsed.return_path, str)
    assert parsed.html is None or isinstance(parsed.html, str)
    assert parsed.date is None or (isinstance(parsed.date, datetime) and parsed.date.tzinfo is not None)
    assert parsed.sender is None or isinstance(parsed.sender, Address)
    for address in (*parsed.to, *parsed.cc, *parsed.reply_to):
        assert isinstance(address, Address) and isinstance(address.email, str)
    assert all(isinstance(i, str) and "<" not in i for i in (*parsed.in_reply_to, *parsed.references))
    assert all(isinstance(k, str) and k == k.lower() and isinstance(v, str) for k, v in parsed.headers.items())
    assert all(isinstance(t, str) and "/" in t for t in parsed.content_types)
    assert all(isinstance(f, ForwardedPart) and isinstance(f.text, str) for f in parsed.forwarded)
    for attachment in parsed.attachments:
        assert isinstance(attachment, Attachment)
        # What was hashed while reading is what decodes again, from the tree and from the raw bytes.
        data = payload_of(parsed, attachment)
        assert (len(data), hashlib.sha256(data).hexdigest()) == (attachment.size, attachment.sha256)
        assert decode_attachment(parsed.raw, attachment.index) == data
    assert all(isinstance(p, str) and p for p in parsed.problems)


# --- every file ------------------------------------------------------------------------------------


def test_every_corpus_file_parses_into_a_well_formed_message(corpus_manifest: list[dict[str, str]]) -> None:
    listed = {Path(row["path"]) for row in corpus_manifest}
    on_disk = {p for p in (CORPUS / "mail").rglob("*") if p.is_file()}
    assert on_disk <= listed, f"files not in MANIFEST.tsv: {sorted(on_disk - listed)[:5]}"
    failures = []
    for path in sorted(on_disk | listed):
        try:
            assert_well_formed(parse_message(read(path)))
        except AssertionError as exc:  # collect them all: one broken file should not hide the others
            failures.append(f"{path.relative_to(CORPUS)}: {exc}")
    assert not failures, "\n".join(failures)


# Person-written mail whose body really is empty (a webmail test message with nothing typed).
EMPTY_HUMAN_MAIL = {"mail/zammad/mail067.box"}


def test_human_mail_in_the_corpus_has_a_sender_and_some_text(corpus_manifest: list[dict[str, str]]) -> None:
    silent = []
    for row in corpus_manifest:
        if row["category"] != "human" or row["file"] in EMPTY_HUMAN_MAIL:
            continue
        parsed = parse_message(read(row["path"]))
        # Encrypted mail and signature-only mail have no readable text; they carry it as attachments.
        if parsed.sender is None or not (parsed.text or parsed.attachments):
            silent.append(row["file"])
    assert not silent


def test_the_mime_torture_test(corpus_manifest: list[dict[str, str]]) -> None:
    parsed = parse_message(read(CORPUS / "mail/flanker/torture.eml"))
    assert_well_formed(parsed)
    assert len(parsed.content_types) > 40
    assert parsed.content_types[0].startswith("multipart/")
    assert len(parsed.forwarded) >= 5  # its many message/rfc822 parts
    assert not any("could not be parsed" in p for p in parsed.problems)


def test_the_210_kb_header(corpus_manifest: list[dict[str, str]]) -> None:
    parsed = parse_message(read(CORPUS / "mail/flanker/long-header.eml"))
    assert_well_formed(parsed)
    assert max(len(v) for v in parsed.headers.values()) > 100_000


def test_bare_cr_and_crlf_twins_read_like_the_lf_originals(corpus_manifest: list[dict[str, str]]) -> None:
    for variant in ("sisimai-cr", "sisimai-crlf"):
        for path in sorted((CORPUS / "mail" / variant).iterdir()):
            twin, original = parse_message(read(path)), parse_message(read(CORPUS / "mail/sisimai" / path.name))
            assert (twin.subject, twin.sender, twin.text) == (original.subject, original.sender, original.text)
            assert twin.content_types == original.content_types
            assert [a.content_type for a in twin.attachments] == [a.content_type for a in original.attachments]


def test_named_edge_cases(corpus_manifest: list[dict[str, str]]) -> None:
    erroneous = parse_message(read(CORPUS / "mail/enmime/erroneous.raw"))
    assert erroneous.text == "// Not an RFC-822 Document"
    bad_subject = parse_message(read(CORPUS / "mail/ruby-mail/bad_encoded_subject.eml"))
    assert (bad_subject.subject, bad_subject.text) == ("TEST", "TEST")
    no_boundary = parse_message(read(CORPUS / "mail/enmime/multipart-wo-boundary.raw"))
    assert "multipart without boundary" in no_boundary.problems
    assert "without boundary" in no_boundary.text
    x_unknown = parse_message(read(CORPUS / "mail/ruby-mail/raw_email10.eml"))
    assert any("charset 'X-UNKNOWN' unknown" in p for p in x_unknown.problems) or x_unknown.text.isascii()
    no_from = parse_message(read(ZAMMAD_MAIL / "mail016.box"))
    assert "no From header" in no_from.problems


def test_bounces_keep_their_delivery_status_reachable(corpus_manifest: list[dict[str, str]]) -> None:
    for row in corpus_manifest:
        parsed = parse_message(read(row["path"]))
        if "message/delivery-status" in parsed.content_types:
            status = [a for a in parsed.attachments if a.content_type == "message/delivery-status"]
            assert status, row["file"]
            for report in status:  # (sisimai's googleworkspace sample has an empty one)
                fields = report.payload.decode("utf-8", "replace").strip()
                assert not fields or fields.split("\n")[0] not in parsed.text, row["file"]


# --- referral samples ----------------------------------------------------------------------------------


def test_referral_samples_parse(referral_samples: dict[Path, dict]) -> None:
    for path in referral_samples:
        parsed = parse_message(read(path))
        assert_well_formed(parsed)
        assert parsed.sender is not None and parsed.sender.email, path.name
        assert parsed.text, path.name
        # s011 comes from a web form that writes "Date: 06/10/2025 21:17".
        assert not parsed.problems or path.name == "s011.eml", (path.name, parsed.problems)


def test_referral_sample_outlook_table_rows_stay_on_one_line(referral_samples: dict[Path, dict]) -> None:
    parsed = parse_message(read(next(p for p in referral_samples if p.name == "s004.eml")))
    assert "Name of child | Felix Ashdown" in parsed.new_text
    assert "D.O.B | 14/03/2014" in parsed.new_text
    assert "DDI: 020 7946 0147" in parsed.signature


def test_referral_sample_inline_forward(referral_samples: dict[Path, dict]) -> None:
    parsed = parse_message(read(next(p for p in referral_samples if p.name == "s010.eml")))
    [forwarded] = parsed.forwarded
    assert forwarded.sender == Address("Kelly Tranter", "kelly.tranter@example.net")
    assert forwarded.subject == "Request for mediation"
    assert "Childs full name - Maisie Tranter" in forwarded.text
    assert "Maisie" not in parsed.new_text


def test_referral_sample_reply_keeps_our_quoted_text_apart(referral_samples: dict[Path, dict]) -> None:
    parsed = parse_message(read(next(p for p in referral_samples if p.name == "s019.eml")))
    assert "020 7946 0921" in parsed.new_text  # the parent's number
    assert "020 7946 0000" in parsed.quoted_text and "020 7946 0000" not in parsed.new_text  # ours


def test_referral_sample_bounce(referral_samples: dict[Path, dict]) -> None:
    parsed = parse_message(read(next(p for p in referral_samples if p.name == "s020.eml")))
    assert parsed.content_types[0] == "multipart/report"
    [status] = [a for a in parsed.attachments if a.content_type == "message/delivery-status"]
    assert b"5.1.1" in status.payload
    assert parsed.forwarded[0].subject == "Thank you for your referral - KM-25-0455"


# --- Zammad's expectations ---------------------------------------------------------------------------

# Where we differ from Zammad on purpose: file -> field -> our value (for bodies: words in our text), and
# why.
ZAMMAD_DIFFERS: dict[str, dict[str, str]] = {
    "mail018": {
        # Zammad leaves the unicode-1-1-utf-7 encoded word and body undecoded ("+ANw-bermittlung").
        "subject": "Benachrichtung  \tzum  \tÜbermittlungsstatus  \t(Fehlgeschlagen)",
        "body": "Dies ist eine automatisch erstellte Benachrichtigung über den Zustellstatus.",
    },
    # The From display name is "=?GB2312?B?ztI=?=", which is 我; Zammad drops it.
    "mail019": {"from_display_name": "我"},
    # Zammad's body is only the HTML <title>; the invoice text in the plain part is the body.
    "mail026": {"body": "gate GmbH   *   Gladbacher Str. 74"},
    # Raw GB2312 bytes in From (the message declares gb2312): 武兰成, where Zammad shows mojibake.
    "mail046": {"from_display_name": "武兰成"},
    # The broken header (unindented continuation) costs Zammad the body; the message says "some text".
    "mail054": {"body": "some text"},
    # `"Millions Lottery Spain transfer"@example.com>`: a quoted local part is a valid address; the
    # trailing ">" is junk, not part of the address or the name.
    "mail076": {"from_email": '"millions lottery spain transfer"@example.com', "from_display_name": ""},
    # "From: Test test@example.com" is a name and an address; and the fax text (a text part without
    # Content-Type after the PDF) is readable body text, not an attachment.
    "mail087": {"from_email": "test@example.com", "from_display_name": "Test", "body": "Sehr geehrter Kunde"},
    # The declared multipart boundary never occurs; the text is all there is, so it is kept as the body.
    "mail105": {"body": "äöüß ad asd"},
}


class _IgnoreRubyTags(yaml.SafeLoader):
    """Zammad's files start with `!ruby/hash:ActiveSupport::HashWithIndifferentAccess`."""


def _construct_untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_IgnoreRubyTags.add_multi_constructor("!", _construct_untagged)


def _zammad_names() -> list[str]:
    return sorted(p.stem for p in ZAMMAD_EXPECTED.glob("*.yml")) if ZAMMAD_EXPECTED.exists() else []


def _expected(name: str) -> dict:
    return yaml.load((ZAMMAD_EXPECTED / f"{name}.yml").read_text(encoding="utf-8"), Loader=_IgnoreRubyTags)


def _words(text: str) -> str:
    """Text reduced to its letters and digits, so markup, spacing and quoting do not count."""
    return re.sub(r"[\W_]+", "", text)


def _zammad_body(expected: dict, parsed: ParsedMessage) -> str:
    body = expected["body"] or ""
    if body == "no visible content":  # Zammad's marker for an empty body
        return ""
    if expected.get("content_type") == "text/html" or "<" in body:
        body = html_to_text(body)
    words = _words(body)
    # Zammad puts the HTML <title> in front of the body; a title is not body text.
    title = re.search(r"<title>(.*?)</title>", parsed.html or "", re.IGNORECASE | re.DOTALL)
    if title and words.startswith(_words(html.unescape(title.group(1)))):
        words = words[len(_words(html.unescape(title.group(1)))) :]
    return words


def _body_agrees(expected_words: str, parsed: ParsedMessage) -> bool:
    ours = [_words(parsed.text), _words(html_to_text(parsed.html or ""))]
    if not expected_words:
        return not ours[0]
    # Zammad shows the HTML alternative where we prefer the plain one: the same words either way.
    return any(expected_words[:60] in text for text in ours)


def _our_field(parsed: ParsedMessage, field: str) -> str:
    if field == "from_email":
        return parsed.sender.email if parsed.sender else ""
    if field == "from_display_name":
        return parsed.sender.name if parsed.sender else ""
    return parsed.subject


def _agreement(name: str, parsed: ParsedMessage) -> dict[str, bool]:
    """field -> whether we agree with Zammad, for each field its file states."""
    expected = _expected(name)
    result = {}
    for field in ("from_email", "from_display_name", "subject"):
        if field in expected:
            ours, theirs = _our_field(parsed, field), expected[field] or ""
            result[field] = ours.lower() == theirs.lower() if field == "from_email" else ours == theirs.strip()
            if field == "subject":  # Zammad keeps the white space around a subject ("\r\n..." in mail027)
                result[field] = ours.strip() == theirs.strip()
    if "body" in expected:
        result["body"] = _body_agrees(_zammad_body(expected, parsed), parsed)
    return result


@pytest.mark.parametrize("name", _zammad_names())
def test_zammad_expectations(name: str, corpus_manifest: list[dict[str, str]]) -> None:
    parsed = parse_message(read(ZAMMAD_MAIL / f"{name}.box"))
    ours_instead = ZAMMAD_DIFFERS.get(name, {})
    for field, agrees in _agreement(name, parsed).items():
        if field not in ours_instead:
            assert agrees, f"{name}: {field} differs from Zammad"
        elif field == "body":
            assert not agrees and ours_instead["body"] in parsed.text, parsed.text[:120]
        else:
            assert not agrees and _our_field(parsed, field) == ours_instead[field]


def test_zammad_agreement_count(corpus_manifest: list[dict[str, str]], record_property) -> None:
    totals: dict[str, list[int]] = {}
    for name in _zammad_names():
        parsed = parse_message(read(ZAMMAD_MAIL / f"{name}.box"))
        for field, agrees in _agreement(name, parsed).items():
            counts = totals.setdefault(field, [0, 0])
            counts[0] += agrees
            counts[1] += 1
    summary = {field: f"{agree}/{total}" for field, (agree, total) in totals.items()}
    record_property("zammad_agreement", summary)
    print(f"agreement with Zammad: {summary}")
    assert summary == {"from_email": "64/66", "from_display_name": "62/66", "subject": "67/68", "body": "59/64"}


def test_no_text_from_the_corpus_carries_undecodable_bytes(corpus_manifest):
    """Lone surrogates (raw bytes the decoder could not place) cannot be stored or shown: none may escape."""
    surrogates = re.compile("[\ud800-\udfff]")

    def texts(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | tuple):
            for item in value:
                yield from texts(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from texts(item)
        elif dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                if f.name not in ("raw", "message", "payload"):
                    yield from texts(getattr(value, f.name))

    bad = [
        row["file"]
        for row in corpus_manifest
        if any(surrogates.search(t) for t in texts(parse_message(Path(row["path"]).read_bytes())))
    ]
    assert bad == []
