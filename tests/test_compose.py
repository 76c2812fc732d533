"""Composing an outbox row into the email a family receives (inbox/compose.py, templates/email/)."""

from __future__ import annotations

import os
from dataclasses import asdict
from email.message import EmailMessage
from pathlib import Path

import pytest

from inbox.compose import TemplateError, render_email
from models.offices import offices_for
from models.outbox import OutboxMessage
from models.settings import Settings

LONDON_PHONE = "020 7359 3635"
NATIONAL_PHONE = "0333 006 2835"
CERTIFICATE_SENTENCE = "within 3 working days"


def make_settings(**overrides) -> Settings:
    values = {"mail_from": "referrals@mediation-desk.example.org", "service_name": "Mediation Desk"}
    return Settings(_env_file=None, **{**values, **overrides})


def intake_context(
    *,
    region: str | None = "london",
    service: str | None = "mediation",
    local_authority: str | None = "Camden",
    served: bool | None = True,
    recipient_name: str = "Sam Parent",
) -> dict:
    """The context as intake writes it on the row."""
    return {
        "reference": "MD-26-7K3Q",
        "recipient_name": recipient_name,
        "service": service,
        "local_authority": local_authority,
        "served": served,
        "region": region,
        "original_subject": "Help with my son's EHC plan",
        "offices": [asdict(office) for office in offices_for(region)],
        "service_name": "Mediation Desk",
    }


def make_row(template: str = "acknowledgement", **fields) -> OutboxMessage:
    values = {
        "id": 7,
        "idempotency_key": "ack:1",
        "channel": "email",
        "to": "parent@example.net",
        "template": template,
        "context": intake_context(),
        "message_id": "mdesk.20260105.abc123@mediation-desk.example.org",
        "in_reply_to": "CAF=parent-original@mail.example.net",
        "references": ["CAF=parent-original@mail.example.net"],
        "automatic": True,
    }
    return OutboxMessage(**{**values, **fields})


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


# --- headers ---


def test_acknowledgement_headers_thread_and_mark_it_automatic() -> None:
    msg = render_email(make_row(), settings=make_settings())

    assert msg["From"] == "Mediation Desk <referrals@mediation-desk.example.org>"
    assert msg["To"] == "parent@example.net"
    assert msg["Subject"] == "Your referral to Mediation Desk [MD-26-7K3Q]"
    assert msg["Message-ID"] == "<mdesk.20260105.abc123@mediation-desk.example.org>"
    assert msg["In-Reply-To"] == "<CAF=parent-original@mail.example.net>"
    assert msg["References"] == "<CAF=parent-original@mail.example.net>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert msg["Date"] is not None
    assert msg["Precedence"] is None  # "bulk" would hurt deliverability


def test_the_message_id_is_the_rows_every_time() -> None:
    row = make_row()
    first = render_email(row, settings=make_settings())
    second = render_email(row, settings=make_settings())
    assert first["Message-ID"] == second["Message-ID"] == f"<{row.message_id}>"


def test_references_carry_the_whole_chain_and_default_to_the_parent() -> None:
    chained = render_email(make_row(references=["a@x", "<b@y>"], in_reply_to="b@y"), settings=make_settings())
    assert chained["References"] == "<a@x> <b@y>"
    assert chained["In-Reply-To"] == "<b@y>"

    parent_only = render_email(make_row(references=[], in_reply_to="p@x"), settings=make_settings())
    assert parent_only["References"] == "<p@x>"

    fresh = render_email(make_row(references=[], in_reply_to=None), settings=make_settings())
    assert fresh["In-Reply-To"] is None
    assert fresh["References"] is None


def test_a_message_a_person_sends_is_not_marked_automatic() -> None:
    msg = render_email(make_row(automatic=False), settings=make_settings())
    assert msg["Auto-Submitted"] is None
    assert msg["X-Auto-Response-Suppress"] is None


def test_from_uses_the_configured_address_and_service_name() -> None:
    settings = make_settings(mail_from="Desk <desk@example.org>", service_name="SEN Mediation North")
    msg = render_email(make_row(), settings=settings)
    assert msg["From"].addresses[0].addr_spec == "desk@example.org"
    assert msg["From"].addresses[0].display_name == "SEN Mediation North"


def test_a_row_without_a_message_id_is_refused() -> None:
    with pytest.raises(ValueError, match="no Message-ID"):
        render_email(make_row(message_id=None), settings=make_settings())


# --- the acknowledgement's content ---


def test_text_comes_first_then_html() -> None:
    msg = render_email(make_row(), settings=make_settings())
    assert msg.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in msg.iter_parts()] == ["text/plain", "text/html"]


@pytest.mark.parametrize(
    ("region", "present", "absent"),
    [
        ("london", [LONDON_PHONE], [NATIONAL_PHONE]),
        ("national", [NATIONAL_PHONE], [LONDON_PHONE]),
        (None, [LONDON_PHONE, NATIONAL_PHONE], []),
    ],
)
def test_the_office_for_the_region_or_both_when_unknown(region, present, absent) -> None:
    row = make_row(context=intake_context(region=region))
    msg = render_email(row, settings=make_settings())
    for part in (text_of(msg), html_of(msg)):
        for phone in present:
            assert phone in part
        for phone in absent:
            assert phone not in part
        assert "Monday to Friday, 9.30am to 5pm" in part


def test_acknowledgement_says_what_happens_next() -> None:
    text = text_of(render_email(make_row(), settings=make_settings()))
    assert text.startswith("Dear Sam Parent,")
    assert "Your reference is MD-26-7K3Q" in text
    assert "within 2 working days" in text
    assert "reply to this email" in text
    assert "London office" in text


def test_certificate_sentence_only_for_a_certificate_request() -> None:
    for service in ("certificate", "mediation", "disagreement_resolution", "facilitation", None):
        msg = render_email(make_row(context=intake_context(service=service)), settings=make_settings())
        for part in (text_of(msg), html_of(msg)):
            assert ("mediation certificate" in part) == (service == "certificate"), service
            assert (CERTIFICATE_SENTENCE in part) == (service == "certificate"), service


def test_an_enquiry_is_acknowledged_as_a_message() -> None:
    msg = render_email(make_row(context=intake_context(service=None)), settings=make_settings())
    assert msg["Subject"] == "Your message to Mediation Desk [MD-26-7K3Q]"
    assert "received your message" in text_of(msg)


def test_no_name_means_a_plain_greeting() -> None:
    msg = render_email(make_row(context=intake_context(recipient_name="")), settings=make_settings())
    assert text_of(msg).startswith("Hello,")


def test_html_is_escaped_and_text_is_not() -> None:
    row = make_row(context=intake_context(recipient_name="Ann <b>O'Neil</b> & Co"))
    msg = render_email(row, settings=make_settings())
    assert "Dear Ann <b>O'Neil</b> & Co," in text_of(msg)
    html = html_of(msg)
    assert "<b>O" not in html
    assert "Ann &lt;b&gt;O&#39;Neil&lt;/b&gt; &amp; Co" in html
    assert "<img" not in html


# --- not served ---


def test_not_served_names_the_council_and_points_to_its_sen_team() -> None:
    row = make_row("not_served", context=intake_context(region=None, local_authority="Kent", served=False))
    msg = render_email(row, settings=make_settings())
    assert msg["Subject"] == "Your message to Mediation Desk [MD-26-7K3Q]"
    assert msg["Auto-Submitted"] == "auto-replied"
    for part in (text_of(msg), html_of(msg)):
        assert "Kent is not one of them" in part
        assert "special educational needs (SEN) team at your council (Kent)" in part
        assert "SENDIASS" in part
        assert "MD-26-7K3Q" in part
        assert "families in England" not in part


def test_not_served_outside_england_says_the_service_is_for_england() -> None:
    row = make_row("not_served", context=intake_context(region=None, local_authority=None, served=False))
    msg = render_email(row, settings=make_settings())
    for part in (text_of(msg), html_of(msg)):
        assert "families in England" in part
        assert "Additional Learning Needs (ALN)" in part
        assert "MD-26-7K3Q" in part
        assert "is not one of them" not in part


# --- templates that go wrong ---


def write_templates(folder: Path, name: str, *, subject: str, text: str, html: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.subject.txt").write_text(subject, encoding="utf-8")
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    if html is not None:
        (folder / f"{name}.html").write_text(html, encoding="utf-8")
    return folder


def test_without_an_html_template_the_message_is_plain_text(tmp_path: Path) -> None:
    folder = write_templates(tmp_path, "note", subject="Note [{{ reference }}]", text="Hi {{ reference }}\n")
    msg = render_email(make_row("note"), settings=make_settings(), templates_dir=folder)
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content() == "Hi MD-26-7K3Q\n"


def test_a_multi_line_subject_becomes_one_line(tmp_path: Path) -> None:
    folder = write_templates(tmp_path, "note", subject="  Note\n  [{{ reference }}]\n\n", text="x\n")
    msg = render_email(make_row("note"), settings=make_settings(), templates_dir=folder)
    assert msg["Subject"] == "Note [MD-26-7K3Q]"


@pytest.mark.parametrize(
    ("subject", "text", "reason"),
    [
        ("Note {{ reference", "x", "TemplateSyntaxError"),
        ("Note {{ no_such_key }}", "x", "UndefinedError"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "x", "SecurityError"),
        ("Note", "{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ '' }}", "x", "empty subject"),
    ],
)
def test_a_template_that_fails_raises_template_error(tmp_path: Path, subject, text, reason) -> None:
    folder = write_templates(tmp_path, "bad", subject=subject, text=text)
    with pytest.raises(TemplateError, match=reason):
        render_email(make_row("bad"), settings=make_settings(), templates_dir=folder)


def test_a_missing_template_raises_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"nope\.subject\.txt"):
        render_email(make_row("nope"), settings=make_settings(), templates_dir=tmp_path)


def test_a_broken_html_part_is_an_error_not_a_dropped_part(tmp_path: Path) -> None:
    folder = write_templates(tmp_path, "half", subject="S", text="ok\n", html="<p>{% if %}</p>")
    with pytest.raises(TemplateError, match=r"half\.html"):
        render_email(make_row("half"), settings=make_settings(), templates_dir=folder)


def test_an_edited_template_is_picked_up(tmp_path: Path) -> None:
    folder = write_templates(tmp_path, "note", subject="First [{{ reference }}]", text="x\n")
    assert render_email(make_row("note"), settings=make_settings(), templates_dir=folder)["Subject"].startswith("First")
    subject = folder / "note.subject.txt"
    subject.write_text("Second [{{ reference }}]", encoding="utf-8")
    stat = subject.stat()
    os.utime(subject, (stat.st_atime + 5, stat.st_mtime + 5))  # mtime granularity: make the edit visible
    assert render_email(make_row("note"), settings=make_settings(), templates_dir=folder)["Subject"].startswith(
        "Second"
    )
