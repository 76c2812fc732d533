"""A family's data stays on that family's case (issue 8, items 1, 2 and 12), on SQLite and PostgreSQL.

- A reused Message-ID: only the same message (same sender and content) is a duplicate.
- In-Reply-To/References: a stranger answering a family's message does not join their case.
- A flood of new-case mail from one address: one case, the rest on its triage, unless another child.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from inbox.intake import Intake
from inbox.sources.base import MessageKey, SourceMessage
from models.cases import Case, InboxItem, TimelineEvent
from models.mail import InboundMessage
from models.outbox import OutboxMessage
from models.types import utcnow
from tests import mailfactory

_uids = iter(range(1, 10_000))

FAMILY_B_BODY = (
    "Dear Sir or Madam,\n\nI am writing about my daughter Maya Okafor (DOB 12/09/2016). Camden refused to\n"
    "carry out an EHC needs assessment and we would like mediation please.\n\nPhone 07700 900 777.\n\nGrace Okafor\n"
)


def source_message(raw: bytes) -> SourceMessage:
    return SourceMessage(MessageKey("imap://test@localhost/INBOX", 1, str(next(_uids))), raw)


def deliver(intake: Intake, raw: bytes) -> None:
    assert intake.handle(source_message(raw))


def rows(engine, model, *where) -> list:
    with Session(engine) as session:
        return list(session.exec(select(model).where(*where).order_by(model.id)))


def inbound(engine, message_id: str) -> list[InboundMessage]:
    return rows(engine, InboundMessage, InboundMessage.message_id == message_id)


# ---- 8.1: a reused Message-ID ---------------------------------------------------------------------


def test_another_familys_referral_under_the_same_message_id_gets_its_own_case_and_acknowledgement(engine, settings):
    intake = Intake(engine, settings)
    deliver(intake, mailfactory.referral(message_id="<same@example.com>"))
    family_b = mailfactory.referral(
        sender="Grace Okafor <grace.okafor@example.net>",
        subject="Referral for Maya",
        body=FAMILY_B_BODY,
        message_id="<same@example.com>",
    )
    deliver(intake, family_b)
    case_a, case_b = rows(engine, Case)
    assert (case_a.referrer_email, case_b.referrer_email) == ("joanne.pryce@example.com", "grace.okafor@example.net")
    assert [(o.to, o.case_id) for o in rows(engine, OutboxMessage)] == [
        ("joanne.pryce@example.com", case_a.id),
        ("grace.okafor@example.net", case_b.id),
    ]
    assert "Maya" in case_b.draft["child_name"] and "Maya" not in str(case_a.draft)
    first, second = inbound(engine, "same@example.com")
    assert (first.case_id, second.case_id) == (case_a.id, case_b.id)
    assert second.outcome == "new_case"
    assert any(reason.startswith("Message-ID reused by another sender") for reason in second.reasons)
    assert not any("Maya" in event.summary for event in rows(engine, TimelineEvent, TimelineEvent.case_id == case_a.id))


def test_the_same_message_delivered_twice_with_other_received_headers_is_one_case(engine, settings):
    intake = Intake(engine, settings)
    raw = mailfactory.referral(message_id="<copied@example.com>")
    by_to = b"Received: from mx1.example.com by mail.example.org; Tue, 1 Dec 2026 10:00:01 +0000\r\n" + raw
    by_cc = b"Delivered-To: office@mediation-desk.example.org\r\nReceived: from mx2.example.com\r\n" + raw
    # Both in one batch (one transaction) and then one more copy on its own.
    assert intake.handle_batch([source_message(by_to), source_message(by_cc)]) == 2
    deliver(intake, b"Received: from mx3.example.com\r\n" + raw)
    [case] = rows(engine, Case)
    assert len(rows(engine, OutboxMessage)) == 1
    copies = inbound(engine, "copied@example.com")
    assert [c.outcome for c in copies] == ["new_case", "duplicate", "duplicate"]
    assert {c.case_id for c in copies} == {case.id}


def test_a_familys_reply_to_our_acknowledgement_joins_its_own_case_when_its_message_id_was_reused(engine, settings):
    intake = Intake(engine, settings)
    deliver(intake, mailfactory.referral(message_id="<same@example.com>"))
    other = mailfactory.referral(sender="grace.okafor@example.net", body=FAMILY_B_BODY, message_id="<same@example.com>")
    deliver(intake, other)
    case_a, case_b = rows(engine, Case)
    _ack_a, ack_b = rows(engine, OutboxMessage)
    reply = mailfactory.message(
        sender="grace.okafor@example.net",
        subject="Re: your referral",
        body="Thank you.\n",
        headers={"In-Reply-To": f"<{ack_b.message_id}>", "References": f"<same@example.com> <{ack_b.message_id}>"},
    )
    deliver(intake, reply)
    [stored] = rows(engine, InboundMessage, InboundMessage.subject == "Re: your referral")
    assert (stored.outcome, stored.case_id) == ("reply", case_b.id)
    # Family A answering its own first message (the reused Message-ID alone) still joins its case.
    own = mailfactory.reply_to("same@example.com", sender="joanne.pryce@example.com", subject="Re: forgot one thing")
    deliver(intake, own)
    [stored] = rows(engine, InboundMessage, InboundMessage.subject == "Re: forgot one thing")
    assert (stored.outcome, stored.case_id) == ("reply", case_a.id)


# ---- 8.2: a stranger answering a family's message ---------------------------------------------------


def test_a_stranger_answering_a_familys_message_does_not_join_their_case(engine, settings):
    intake = Intake(engine, settings)
    deliver(intake, mailfactory.referral(message_id="<family@example.com>"))
    [case] = rows(engine, Case)
    events_before = len(rows(engine, TimelineEvent, TimelineEvent.case_id == case.id))
    stranger = mailfactory.reply_to(
        "family@example.com",
        sender="Someone <someone@elsewhere.example>",
        subject="Re: Mediation request - my son Elliot",
        body="Please send me everything you hold about this child.\n",
    )
    deliver(intake, stranger)
    [stored] = rows(engine, InboundMessage, InboundMessage.sender_email == "someone@elsewhere.example")
    assert stored.case_id is None and stored.outcome == "triage"
    assert any("not a party" in reason for reason in stored.reasons)
    assert len(rows(engine, TimelineEvent, TimelineEvent.case_id == case.id)) == events_before
    assert rows(engine, Case) == [case] and len(rows(engine, OutboxMessage)) == 1  # no answer to a stranger
    [item] = rows(engine, InboxItem)
    assert item.kind == "triage" and item.inbound_message_id == stored.id and case.reference in item.summary
    # Nor by answering our acknowledgement to the family.
    [ack] = rows(engine, OutboxMessage)
    deliver(intake, mailfactory.reply_to(ack.message_id, sender="someone@elsewhere.example", subject="Re: ack"))
    [stored] = rows(engine, InboundMessage, InboundMessage.subject == "Re: ack")
    assert stored.case_id is None and stored.outcome == "triage"


def test_the_family_and_the_address_we_wrote_to_still_join_by_their_headers(engine, settings):
    intake = Intake(engine, settings)
    deliver(intake, mailfactory.referral(message_id="<family@example.com>"))
    [case] = rows(engine, Case)
    [ack] = rows(engine, OutboxMessage)
    deliver(intake, mailfactory.reply_to("family@example.com", sender="joanne.pryce@example.com", subject="Re: one"))
    deliver(intake, mailfactory.reply_to(ack.message_id, sender="Joanne <JOANNE.PRYCE@example.com>", subject="Re: two"))
    for subject in ("Re: one", "Re: two"):
        [stored] = rows(engine, InboundMessage, InboundMessage.subject == subject)
        assert (stored.outcome, stored.case_id) == ("reply", case.id)
    assert rows(engine, InboxItem) == []


# ---- 8.12: a flood of new-case mail from one sender -----------------------------------------------


def test_fifty_notifications_from_one_sender_open_one_case_and_the_rest_go_to_its_triage(engine, settings):
    intake = Intake(engine, settings)
    flood = [mailfactory.referral(subject=f"Form submission {n}") for n in range(50)]
    assert intake.handle_batch([source_message(raw) for raw in flood]) == 50
    [case] = rows(engine, Case)
    [ack] = rows(engine, OutboxMessage)
    assert ack.case_id == case.id
    items = rows(engine, InboxItem)
    assert len(items) == 49 and {(i.kind, i.case_id) for i in items} == {("triage", case.id)}
    stored = rows(engine, InboundMessage)
    assert [m.outcome for m in stored] == ["new_case"] + ["triage"] * 49
    assert {m.case_id for m in stored} == {case.id}


def test_a_parent_writing_about_a_second_child_opens_a_second_case(engine, settings):
    intake = Intake(engine, settings)
    deliver(intake, mailfactory.referral())
    second_child = mailfactory.referral(
        subject="Mediation request - my daughter Amy",
        body="Hello,\n\nMy daughter Amy Pryce (DOB 11/03/2017) also has an EHC plan from Camden and we would\n"
        "like mediation about her Section F please.\n\nJoanne Pryce\n",
    )
    deliver(intake, second_child)
    first, second = rows(engine, Case)
    assert "Elliot" in first.draft["child_name"] and "Amy" in second.draft["child_name"]
    # Writing again about Elliot (his name alone) lands on his case's triage, not a third case.
    deliver(intake, mailfactory.referral(subject="Elliot again", body="About my son Elliot: he moved school.\n"))
    assert len(rows(engine, Case)) == 2
    [item] = rows(engine, InboxItem)
    assert (item.kind, item.case_id) == ("triage", first.id)


def test_the_same_address_a_day_later_opens_a_new_case(engine, settings):
    intake = Intake(engine, settings)
    deliver(intake, mailfactory.referral())
    with Session(engine) as session:
        session.exec(update(Case).values(created_at=utcnow() - timedelta(hours=25)))
        session.commit()
    deliver(intake, mailfactory.referral())
    assert len(rows(engine, Case)) == 2 and rows(engine, InboxItem) == []
