"""inbox.classify: each rule on a small message written here, its kind and its recorded reason,
and the person-written mail that must stay a person's (intake opens no case for machine mail)."""

from __future__ import annotations

import dataclasses

import pytest

from inbox.classify import (
    AUTO_GENERATED,
    AUTO_REPLY,
    BOUNCE,
    RULES,
    Facts,
    Verdict,
    bounced_recipients,
    classify,
    original_message_id,
)
from inbox.parse import parse_message

OURS = "referrals@kids-mediation.example.org"
PARENT = "Jane Parent <jane.parent@example.com>"


def mail(
    body: str = "Hello,\n\nI would like mediation for my son please.\n\nJane\n",
    *,
    subject: str = "Referral for my son",
    sender: str = PARENT,
    headers: dict[str, str] | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> bytes:
    """A raw message: the usual headers, any extra ones, then the body as given."""
    lines = [
        f"From: {sender}",
        f"To: {OURS}",
        f"Subject: {subject}",
        "Date: Mon, 02 Jun 2025 10:00:00 +0100",
        "Message-ID: <m1@example.com>",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def dsn(action: str = "failed", status: str = "5.1.1", *, extra_headers: dict[str, str] | None = None) -> bytes:
    """An RFC 3464 report on our acknowledgement to andrew@example.org."""
    body = f"""--B
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; andrew@example.org
Original-Recipient: rfc822;andrew@example.org
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <andrew@example.org>: Recipient address rejected

--B
Content-Type: message/rfc822

From: {OURS}
To: andrew@example.org
Subject: Your referral [KM-25-0455]
Message-ID: <ack-KM-25-0455@kids-mediation.example.org>

Thank you for your referral.

--B--
"""
    return mail(
        body,
        subject="Undelivered Mail Returned to Sender",
        sender="MAILER-DAEMON@mx.example.net (Mail Delivery System)",
        headers={"Return-Path": "<>", **(extra_headers or {})},
        content_type='multipart/report; report-type=delivery-status; boundary="B"',
    )


def verdict_of(raw: bytes) -> Verdict:
    return classify(parse_message(raw))


def fired(rule_name: str, raw: bytes) -> str | None:
    rule = next(r for r in RULES if r.name == rule_name)
    return rule(Facts.of(parse_message(raw)))


# One row per rule (several for the rules with several forms): the rule that must fire, a message
# it must fire on, the kind classify must give, and words the recorded reason must contain.
CASES: list[tuple[str, str, bytes, str, str]] = [
    # ---- bounces
    ("delivery_status_report", "dsn", dsn(), BOUNCE, "multipart/report; report-type=delivery-status"),
    (
        "delivery_status_report",
        "dsn-part-without-report-type",
        mail(
            "--B\nContent-Type: text/plain\n\nSee below.\n--B\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\n"
            "Status: 5.0.0\n--B--\n",
            subject="Notice",
            sender="Notices <notices-desk@example.net>",
            content_type='multipart/mixed; boundary="B"',
        ),
        BOUNCE,
        "message/delivery-status part",
    ),
    (
        "x_failed_recipients",
        "exim",
        mail(
            "Sorry.", subject="Notice", sender="Ops <ops@example.net>", headers={"X-Failed-Recipients": "a@example.org"}
        ),
        BOUNCE,
        "X-Failed-Recipients",
    ),
    (
        "daemon_sender",
        "mailer-daemon",
        mail("It failed.", subject="Notice", sender="MAILER-DAEMON@mx.example.net"),
        BOUNCE,
        "mailer-daemon@ is a mail system",
    ),
    (
        "daemon_sender",
        "mail-delivery-subsystem",
        mail("It failed.", subject="Notice", sender="Mail Delivery Subsystem <mds@example.net>"),
        BOUNCE,
        "mail delivery subsystem",
    ),
    (
        "daemon_sender",
        "exchange-online",
        mail(
            "Your message to a@example.org couldn't be delivered.",
            subject="Notice",
            sender="Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.onmicrosoft.com>",
        ),
        BOUNCE,
        "is a mail system",
    ),
    *[
        (
            "bounce_subject",
            subject[:24],
            mail("See the attached details.", subject=subject),
            BOUNCE,
            "delivery status notice",
        )
        for subject in (
            "Undeliverable: Mediation referral",
            "Delivery Status Notification (Failure)",
            "Returned mail: see transcript for details",
            "Mail delivery failed: returning message to sender",
            "failure notice",
            "Undelivered Mail Returned to Sender",
            "DELIVERY FAILURE: User jane.smith (jane@example.org) not listed in Domino Directory",
            "Delivery Notification: Delivery has failed",
            "Returned mail",
            "Undeliverable Mail",
            "Non remis : Votre demande",
            "Unzustellbar: Ihre Anfrage",
            "Message status - undeliverable",
            "配信エラー",
        )
    ],
    (
        "bounce_text",
        "qmail",
        mail(
            "Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your "
            "message to the following addresses.\n\n<andrew@example.org>:\nSorry, no mailbox here by that name.\n",
            subject="Notice",
            sender="Ops <ops@example.net>",
        ),
        BOUNCE,
        "qmail-send program",
    ),
    (
        "bounce_text",
        "null-sender-wording",
        mail(
            "You sent mail to andrew@example.org. That's not a valid user here.",
            subject="",
            sender="<>",
            headers={"Return-Path": "<>"},
        ),
        BOUNCE,
        "not a valid user",
    ),
    # ---- auto-replies
    (
        "auto_submitted_replied",
        "rfc3834",
        mail(
            "I'm on leave until 1 September.", subject="Re: Your referral", headers={"Auto-Submitted": "auto-replied"}
        ),
        AUTO_REPLY,
        "Auto-Submitted: auto-replied",
    ),
    (
        "auto_submitted_replied",
        "auto-notified",
        mail("Sieve notification.", subject="Notice", headers={"Auto-Submitted": "auto-notified"}),
        AUTO_REPLY,
        "Auto-Submitted: auto-notified",
    ),
    (
        "auto_submitted_replied",
        "with-parameter",
        mail("Away.", subject="Hello", headers={"Auto-Submitted": "Auto-Replied; owner-email=a@example.com"}),
        AUTO_REPLY,
        "Auto-Submitted: auto-replied",
    ),
    *[
        ("autoreply_header", name, mail("Away.", subject="Hello", headers={name: "yes"}), AUTO_REPLY, name.lower())
        for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse")
    ],
    (
        "autoreply_header",
        "icloud",
        mail("Away.", subject="Hello", headers={"X-Apple-Action": "VACATION/x"}),
        AUTO_REPLY,
        "X-Apple-Action: VACATION",
    ),
    (
        "precedence_auto_reply",
        "precedence",
        mail("Away.", subject="Hello", headers={"Precedence": "auto_reply"}),
        AUTO_REPLY,
        "Precedence: auto_reply",
    ),
    *[
        ("auto_reply_subject", subject[:24], mail("Back soon.", subject=subject), AUTO_REPLY, "is an automatic reply")
        for subject in (
            "Automatic reply: Disagreement resolution meeting",
            "Auto-Reply: Your message",
            "Autoreply: Your message",
            "Auto reply: Your message",
            "Autosvar: Your message",
            "Automatische Antwort: Ihre Nachricht",
            "Réponse automatique : Votre message",
            "Respuesta automática: Su mensaje",
            "Out of Office: Mediation referral",
            "Out of Office AutoReply: Mediation referral",
            "Out of the office",
            "OOO until Monday - Mediation referral",
            "AUTO: Jane Smith is out of the office (returning 05/06/2025)",
            "I am away until 3 June",
            "Away from my desk",
            "Vacation: Your message",
        )
    ],
    (
        "self_declared_auto_reply",
        "automated-ack",
        mail(
            "Thank you for contacting the SEND team. This is an automated response to confirm we have received "
            "your email. We aim to reply within 10 working days.",
            subject="SEND Team",
            sender="SEND Team <send@council.example.gov.uk>",
        ),
        AUTO_REPLY,
        "This is an automated response",
    ),
    (
        "out_of_office_text",
        "exchange-oof-without-auto-submitted",
        mail(
            "I am currently out of the office until Tuesday 3 June with limited access to email.",
            subject="RE: Referral",
            headers={"X-Auto-Response-Suppress": "All"},
        ),
        AUTO_REPLY,
        "X-Auto-Response-Suppress and the text says",
    ),
    (
        "out_of_office_text",
        "precedence-bulk-autoresponder",
        mail(
            "Thank you for you e-mail.\nI will endeavour to reply as soon as possible.\n\nRegards\nJohn",
            subject="Thank you for your e-mail",
            headers={"Precedence": "bulk", "Return-Path": "<>"},
        ),
        AUTO_REPLY,
        "the text says",
    ),
    (
        "out_of_office_text",
        "null-return-path-acknowledgement",
        mail(
            "We have received your email and will respond within 5 working days.",
            subject="Re: Referral",
            headers={"Return-Path": "<>"},
        ),
        AUTO_REPLY,
        "null return path and the text says",
    ),
    (
        "out_of_office_text",
        "council-no-reply-acknowledgement",
        mail(
            "Thank you for contacting the SEND Service. We aim to respond to all enquiries within 10 working days.",
            subject="RE: Mediation referral [KM-25-0001]",
            sender="SEND Service <no-reply@council.example.gov.uk>",
            headers={"Auto-Submitted": "auto-generated", "In-Reply-To": "<ack-1@kids-mediation.example.org>"},
        ),
        AUTO_REPLY,
        "Auto-Submitted: auto-generated and the text says",
    ),
    (
        "out_of_office_letter",
        "no-header-at-all",
        mail(
            "Thank you for your email. I am out of the office until Monday 9 June with limited access to email.\n"
            "If your enquiry is urgent please contact the SEN team on 020 7946 0000.\n",
            subject="RE: Your referral [KM-25-0001]",
            headers={"In-Reply-To": "<ack-1@kids-mediation.example.org>"},
        ),
        AUTO_REPLY,
        "out-of-office letter",
    ),
    (
        "challenge_response",
        "confirm-human",
        mail(
            "I protect my inbox from spam. Please click the link below to confirm you are human and your "
            "message will be delivered.",
            subject="Re: Referral",
        ),
        AUTO_REPLY,
        "challenge-response",
    ),
    (
        "challenge_response",
        "waitlisted",
        mail('Your message about "Referral" has been waitlisted.', subject="Re: Referral"),
        AUTO_REPLY,
        "waitlisted",
    ),
    # ---- other machine mail
    (
        "auto_submitted_generated",
        "auto-generated",
        mail("Incident INC0001 was assigned.", subject="Incident", headers={"Auto-Submitted": "auto-generated"}),
        AUTO_GENERATED,
        "Auto-Submitted: auto-generated",
    ),
    *[
        (
            "precedence_bulk",
            value,
            mail("News.", subject="News", headers={"Precedence": value}),
            AUTO_GENERATED,
            f"Precedence: {value}",
        )
        for value in ("bulk", "junk", "list")
    ],
    (
        "mailing_list",
        "list-id",
        mail("Hi all.", subject="[sen-forum] Tribunal dates", headers={"List-Id": "<sen-forum.lists.example.org>"}),
        AUTO_GENERATED,
        "List-Id header",
    ),
    (
        "mailing_list",
        "list-unsubscribe",
        mail("Hi all.", subject="Tribunal dates", headers={"List-Unsubscribe": "<mailto:u@lists.example.org>"}),
        AUTO_GENERATED,
        "List-Unsubscribe header",
    ),
    (
        "feedback_report",
        "arf",
        mail(
            "--B\nContent-Type: text/plain\n\nAbuse report.\n--B\nContent-Type: message/feedback-report\n\n"
            "Feedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n--B--\n",
            subject="Abuse report",
            sender="abuse@isp.example.net",
            content_type='multipart/report; report-type=feedback-report; boundary="B"',
        ),
        AUTO_GENERATED,
        "report-type=feedback-report",
    ),
    (
        "dmarc_report",
        "aggregate",
        mail(
            "--B\nContent-Type: text/plain\n\nThis is an aggregate report.\n--B\nContent-Type: application/zip\n"
            "Content-Disposition: attachment;\n"
            ' filename="google.com!kids-mediation.example.org!1717200000!1717286399.zip"\n'
            "Content-Transfer-Encoding: base64\n\nUEsDBA==\n--B--\n",
            subject="Report domain: kids-mediation.example.org Submitter: google.com Report-ID: 123",
            sender="DMARC Reports <dmarc-reports@example.net>",
            content_type='multipart/mixed; boundary="B"',
        ),
        AUTO_GENERATED,
        "DMARC report",
    ),
    (
        "read_receipt",
        "mdn",
        mail(
            "--B\nContent-Type: text/plain\n\nYour message was displayed.\n--B\n"
            "Content-Type: message/disposition-notification\n\nFinal-Recipient: rfc822; a@example.org\n"
            "Disposition: manual-action/MDN-sent-manually; displayed\n--B--\n",
            subject="Disposition notification",
            content_type='multipart/report; report-type=disposition-notification; boundary="B"',
        ),
        AUTO_GENERATED,
        "report-type=disposition-notification",
    ),
    (
        "read_receipt",
        "outlook-read",
        mail(
            "Your message\n\n  To: Jane\n  Subject: Your referral\n\nwas read on 02/06/2025 10:00.",
            subject="Read: Your referral [KM-25-0001]",
        ),
        AUTO_GENERATED,
        "read receipt",
    ),
    *[
        (
            "noreply_sender",
            address,
            mail("Your order.", subject="Order", sender=address),
            AUTO_GENERATED,
            "is a no-reply address",
        )
        for address in (
            "noreply@shop.example.com",
            "no-reply@portal.example.gov.uk",
            "donotreply@example.com",
            "do-not-reply@example.com",
        )
    ],
    (
        "noreply_sender",
        "return-path",
        mail(
            "Invoice.",
            subject="Invoice",
            sender="Shop <team@example.com>",
            headers={"Return-Path": "<noreply@bounce.example.com>"},
        ),
        AUTO_GENERATED,
        "Return-Path noreply@ is a no-reply address",
    ),
    (
        "system_sender",
        "cron",
        mail("Job finished.", subject="Cron <root@db1> backup", sender="root@db1.example.com"),
        AUTO_GENERATED,
        "root@ is a system or broadcast mailbox",
    ),
    (
        "bulk_envelope",
        "verp",
        mail(
            "Our news.",
            subject="Spring update",
            sender="Charity <hello@charity.example.org>",
            headers={"Return-Path": "<bounces+12345-abcd=kids-mediation.example.org@em.example.net>"},
        ),
        AUTO_GENERATED,
        "bulk sender's bounce address",
    ),
    (
        "bulk_mailer",
        "feedback-id",
        mail(
            "Our news.",
            subject="Spring update",
            sender="Charity <hello@charity.example.org>",
            headers={"Feedback-ID": "123:456:newsletter:esp"},
        ),
        AUTO_GENERATED,
        "feedback-id header",
    ),
    (
        "bulk_mailer",
        "x-campaign",
        mail(
            "Our news.",
            subject="Spring update",
            sender="Charity <hello@charity.example.org>",
            headers={"X-Campaign": "spring-2025"},
        ),
        AUTO_GENERATED,
        "x-campaign header",
    ),
    (
        "bulk_mailer",
        "x-mailer",
        mail(
            "Our news.",
            subject="Spring update",
            sender="Charity <hello@charity.example.org>",
            headers={"X-Mailer": "MailChimp Mailer - **CID123**"},
        ),
        AUTO_GENERATED,
        "is a bulk mailer",
    ),
    (
        "notification_system",
        "jira",
        mail(
            "Issue updated.",
            subject="[JIRA] (SYS-1) Printer",
            sender="IT <it@example.com>",
            headers={"X-JIRA-FingerPrint": "abc"},
        ),
        AUTO_GENERATED,
        "x-jira-fingerprint header",
    ),
    (
        "notification_system",
        "servicenow",
        mail(
            "Incident assigned.",
            subject="Incident INC1",
            sender="IT <it@example.com>",
            headers={"X-ServiceNow-Generated": "true"},
        ),
        AUTO_GENERATED,
        "x-servicenow-generated header",
    ),
    (
        "unsubscribe_footer",
        "newsletter",
        mail(
            "Spring update from the charity.\n\nYou are receiving this email because you signed up.\n"
            "Click here to unsubscribe.",
            subject="Spring update",
            sender="Charity <hello@charity.example.org>",
        ),
        AUTO_GENERATED,
        "newsletter wording",
    ),
    (
        "do_not_reply_text",
        "portal",
        mail(
            "A document was uploaded to the portal.\n\nPlease do not reply to this email.",
            subject="Document uploaded",
            sender="SEN Portal <portal@council.example.gov.uk>",
        ),
        AUTO_GENERATED,
        "do not reply to this email",
    ),
    (
        "spam_verdict",
        "x-spam-flag",
        mail("Cheap pills.", subject="Offer", sender="x@spam.example", headers={"X-Spam-Flag": "YES"}),
        AUTO_GENERATED,
        "X-Spam-Flag: YES",
    ),
    (
        "spam_verdict",
        "x-spam-status",
        mail(
            "Cheap pills.",
            subject="Offer",
            sender="x@spam.example",
            headers={"X-Spam-Status": "Yes, score=9.1 required=5.0"},
        ),
        AUTO_GENERATED,
        "X-Spam-Status: Yes",
    ),
    (
        "spam_signals",
        "no-rdns-no-message-id",
        (
            "Received: from gmail.com (unknown [81.2.69.160])\n\tby mx.kids-mediation.example.org (Postfix) "
            "with ESMTP id 1\nFrom: Sara <ynbe@gmail.com>\nTo: " + OURS + "\nSubject: Business\n"
            "X-Mailer: Microsoft Outlook Express 6.00.2800.1158\nContent-Type: text/plain\n\nBuy now.\n"
        ).encode(),
        AUTO_GENERATED,
        "spam signals: sending host has no reverse DNS",
    ),
    (
        "empty_from",
        "from-null",
        mail("Win a prize.", subject="Prize", sender="<>"),
        AUTO_GENERATED,
        "From has an empty address",
    ),
]


@pytest.mark.parametrize(
    ("rule_name", "raw", "kind", "reason"),
    [pytest.param(name, raw, kind, reason, id=f"{name}-{label}") for name, label, raw, kind, reason in CASES],
)
def test_rule_fires_with_its_reason(rule_name: str, raw: bytes, kind: str, reason: str) -> None:
    said = fired(rule_name, raw)
    assert said is not None, f"{rule_name} did not fire"
    assert reason.lower() in said.lower()
    verdict = verdict_of(raw)
    assert verdict.kind == kind
    assert said in verdict.reasons


def test_every_rule_has_a_case() -> None:
    assert {r.name for r in RULES} == {case[0] for case in CASES}


def test_rules_are_named_described_and_unique() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert all(r.description and r.kind in (BOUNCE, AUTO_REPLY, AUTO_GENERATED) for r in RULES)


# ---- precedence and delay


def test_a_dsn_that_says_auto_replied_is_a_bounce() -> None:
    verdict = verdict_of(dsn(extra_headers={"Auto-Submitted": "auto-replied"}))
    assert verdict.kind == BOUNCE
    assert "Auto-Submitted: auto-replied" in verdict.reasons  # recorded, though the bounce wins
    assert verdict.reasons[0] == "multipart/report; report-type=delivery-status"
    assert verdict.delay is False


def test_an_auto_reply_on_a_list_is_an_auto_reply() -> None:
    raw = mail("Away.", subject="Automatic reply: Hello", headers={"Precedence": "list", "List-Id": "<l.example.org>"})
    verdict = verdict_of(raw)
    assert verdict.kind == AUTO_REPLY
    assert "Precedence: list" in verdict.reasons


def test_dsn_with_only_delayed_actions_is_a_delay_warning() -> None:
    verdict = verdict_of(dsn(action="delayed", status="4.4.7"))
    assert (verdict.kind, verdict.delay) == (BOUNCE, True)
    assert verdict.reasons[-1] == "Action: delayed (a delay warning, not final)"


def test_delay_subject_without_dsn_is_a_delay_warning() -> None:
    verdict = verdict_of(
        mail(
            "Delivery to the following recipient has been delayed:\n\n    andrew@example.org\n\n"
            "Message will be retried for 2 more day(s)",
            subject="Delivery Status Notification (Delay)",
            sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        )
    )
    assert (verdict.kind, verdict.delay) == (BOUNCE, True)
    assert "is a delay warning" in verdict.reasons[-1]


def test_sendmail_warning_is_a_delay_warning() -> None:
    verdict = verdict_of(
        mail(
            "    **********************************************\n"
            "    **      THIS IS A WARNING MESSAGE ONLY      **\n"
            "    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\n"
            "    **********************************************\n",
            subject="Warning: could not send message for past 4 hours",
            sender="MAILER-DAEMON@mx.example.net",
        )
    )
    assert (verdict.kind, verdict.delay) == (BOUNCE, True)


def test_final_failure_is_not_a_delay() -> None:
    verdict = verdict_of(dsn())
    assert (verdict.kind, verdict.delay) == (BOUNCE, False)


# ---- a person's mail stays a person's


def test_auto_submitted_no_is_a_person() -> None:
    assert verdict_of(mail(headers={"Auto-Submitted": "no"})) == Verdict(None, ())


def test_plain_referral_is_a_person() -> None:
    assert verdict_of(mail()) == Verdict(None, ())


@pytest.mark.parametrize(
    "subject",
    [
        "Re: out of office hours support",
        "Out of office hours support for my son",
        "Referral - I work out of office hours",
        "Question about the out of office hours service",
        "I'm away next week - can we move the mediation?",
        "Annual leave - dates for the session",
        "Re: Automatic reply: Disagreement resolution meeting",
        "Fwd: Undeliverable: Mediation referral",
        "Returned to school - mediation question",
        "Readiness for the meeting",
        "Returned mail from school about my son",
        "Delivery failure - section F provision not delivered",
        "Non-delivery of provision in the EHC plan",
        "Unable to deliver the support in the plan",
        "Failure to deliver provision",
    ],
)
def test_person_subjects_with_machine_words_are_a_person(subject: str) -> None:
    assert verdict_of(mail(subject=subject)).kind is None


def test_reply_quoting_a_bounce_is_a_person() -> None:
    body = (
        "Hi, I got this back when I emailed my son's school, can you tell me the right address?\n\n"
        "Thanks, Jane\n\n"
        "> This is the mail system at host mx.example.net.\n"
        "> I'm sorry to have to inform you that your message could not be delivered.\n"
        "> <head@school.example.org>: host mx said: 550 5.1.1 User unknown\n"
    )
    raw = mail(body, subject="Re: Undelivered Mail Returned to Sender", headers={"In-Reply-To": "<x@example.com>"})
    assert verdict_of(raw).kind is None
    assert bounced_recipients(parse_message(raw)) == []


def test_forwarded_bounce_is_a_person() -> None:
    body = (
        "Please see below, the council's address bounced.\n\nJane\n\n"
        "---------- Forwarded message ---------\n"
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        "Subject: Delivery Status Notification (Failure)\n\n"
        "Delivery to the following recipient failed permanently:\n\n     sen@council.example.gov.uk\n"
    )
    assert verdict_of(mail(body, subject="Fwd: Delivery Status Notification (Failure)")).kind is None


def test_bounce_forwarded_as_attachment_is_a_person() -> None:
    inner = dsn().decode()
    body = (
        "--O\nContent-Type: text/plain\n\nThe council's address bounced, see attached.\n\n"
        "--O\nContent-Type: message/rfc822\n\n" + inner + "\n--O--\n"
    )
    raw = mail(body, subject="Fw: bounce", content_type='multipart/mixed; boundary="O"')
    assert verdict_of(raw).kind is None


def test_reply_quoting_our_acknowledgement_is_a_person() -> None:
    body = (
        "Thank you. My son's date of birth is 4 March 2014.\n\nJane\n\n"
        "-----Original Message-----\n"
        f"From: Kids Mediation <{OURS}>\nSent: 02 June 2025 10:00\nSubject: Your referral [KM-25-0001]\n\n"
        "Thank you for contacting Kids Mediation. We have received your referral.\n\n"
        "--\nThis is an automatic acknowledgement from Kids Mediation. Your reference: KM-25-0001\n"
    )
    raw = mail(body, subject="RE: Your referral [KM-25-0001]", headers={"In-Reply-To": "<ack-1@example.org>"})
    assert verdict_of(raw).kind is None


def test_person_mentioning_leave_and_opting_out_is_a_person() -> None:
    body = (
        "Hello,\n\nI am currently on annual leave until Monday but wanted to send this now. The council "
        "said I can opt out of mediation and just ask for the certificate, is that right?\n\n"
        "We have received your letter about the session, thank you.\n\nJane\n"
    )
    assert verdict_of(mail(body, subject="Certificate only please")).kind is None


def test_web_form_relay_with_reply_to_is_a_person() -> None:
    raw = mail(
        "Name: Jane Parent\nEmail: jane.parent@example.com\nMessage: I would like mediation for my son.\n",
        subject="New referral form submission",
        sender="Kids Mediation website <noreply@forms.example.net>",
        headers={"Reply-To": "Jane Parent <jane.parent@example.com>"},
    )
    assert verdict_of(raw).kind is None


_FORM = (
    "You have received a new enquiry via the website contact form.\n\nName: Jane Parent\n"
    "Email: jane.parent@example.com\nPhone: 07700 900 111\nLocal authority (if known): Barnet\n\n"
    "Message:\nWe would like mediation about our son's EHC plan.\n"
)


@pytest.mark.parametrize(
    "sender, headers",
    [
        ("Website <noreply@forms.example.net>", {}),
        ("WordPress <wordpress@kids-mediation.example.org>", {"Auto-Submitted": "auto-generated"}),
        ("Forms <notifications@formservice.example.com>", {}),
    ],
)
def test_web_form_without_reply_to_is_a_person(sender: str, headers: dict[str, str]) -> None:
    # The form's service sends it, but a parent wrote it: machine mail would never open a case.
    assert verdict_of(mail(_FORM, subject="New enquiry from website", sender=sender, headers=headers)).kind is None


def test_a_notification_naming_only_our_own_address_stays_machine_mail() -> None:
    body = f"Your account details\n\nName: Referrals desk\nEmail: {OURS}\n"
    raw = mail(body, subject="Account updated", sender="noreply@service.example.com")
    assert verdict_of(raw).kind == AUTO_GENERATED


def test_no_reply_with_a_no_reply_reply_to_is_machine_mail() -> None:
    raw = mail("Your order.", sender="noreply@shop.example.com", headers={"Reply-To": "donotreply@shop.example.com"})
    assert verdict_of(raw).kind == AUTO_GENERATED


@pytest.mark.parametrize(
    "body",
    [
        "Thank you for your email. I am away until 5th June, please call me after that.",
        "Thanks for your message. I'm on leave until Monday but the family want mediation, if it's urgent call me "
        "on 07700 900123.",
    ],
)
def test_person_answering_while_away_is_a_person(body: str) -> None:
    assert verdict_of(mail(body, subject="Re: Your referral", headers={"In-Reply-To": "<a@b.example>"})).kind is None


def test_postmaster_signing_as_a_person_is_a_person() -> None:
    raw = mail("Hello, a referral for my daughter.", sender="Bob Jones <postmaster@smallschool.example.org>")
    assert verdict_of(raw).kind is None


# ---- never raises


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe", b"Subject: \xff\n\n\xff", b"From: <>\n\n", b"x" * 10])
def test_garbage_does_not_raise(raw: bytes) -> None:
    msg = parse_message(raw)
    assert isinstance(classify(msg), Verdict)
    assert isinstance(bounced_recipients(msg), list)
    original_message_id(msg)


def test_verdict_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Verdict(None, ()).kind = "bounce"  # type: ignore[misc]


# ---- bounced_recipients and original_message_id


def test_dsn_recipients_and_original_id() -> None:
    msg = parse_message(dsn())
    assert bounced_recipients(msg) == ["andrew@example.org"]
    assert original_message_id(msg) == "ack-KM-25-0455@kids-mediation.example.org"


def test_delay_has_no_undeliverable_recipients() -> None:
    assert bounced_recipients(parse_message(dsn(action="delayed", status="4.4.7"))) == []


def test_x_failed_recipients_are_recipients() -> None:
    raw = mail(
        "Failed.",
        subject="Mail delivery failed",
        sender="MAILER-DAEMON@mx.example.net",
        headers={"X-Failed-Recipients": "a@example.org, B@Example.org"},
    )
    assert bounced_recipients(parse_message(raw)) == ["a@example.org", "b@example.org"]


@pytest.mark.parametrize(
    "body",
    [
        "This message was created automatically by mail delivery software.\n\nA message that you sent could not be "
        "delivered to one or more of its recipients. The following address(es) failed:\n\n  andrew@example.org\n"
        "    host mx.example.org [192.0.2.60]\n",
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
        "<andrew@example.org>: host mx.example.org[192.0.2.60] said: 550 5.1.1 User unknown\n",
        "Your message\n\n  Subject: Referral\n\nwas not delivered to:\n\n  andrew@example.org: User unknown\n",
    ],
)
def test_text_bounce_recipients(body: str) -> None:
    raw = mail(
        body, subject="Mail delivery failed", sender="MAILER-DAEMON@mx.example.net", headers={"Return-Path": "<>"}
    )
    assert bounced_recipients(parse_message(raw)) == ["andrew@example.org"]


def test_original_id_from_rfc822_headers_part() -> None:
    body = (
        "--B\nContent-Type: text/plain\n\nFailed.\n--B\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.0.0\n"
        "--B\nContent-Type: text/rfc822-headers\n\nFrom: "
        + OURS
        + "\nMessage-ID: <ours-1@kids-mediation.example.org>\n"
        "Subject: Your referral\n\n--B--\n"
    )
    raw = mail(
        body,
        subject="Returned mail",
        sender="MAILER-DAEMON@mx.example.net",
        content_type='multipart/report; report-type=delivery-status; boundary="B"',
    )
    assert original_message_id(parse_message(raw)) == "ours-1@kids-mediation.example.org"


def test_original_id_falls_back_to_in_reply_to() -> None:
    raw = mail(
        "That's not a valid user here.",
        subject="",
        sender="<>",
        headers={"Return-Path": "<>", "In-Reply-To": "<ours-2@kids-mediation.example.org>"},
    )
    assert original_message_id(parse_message(raw)) == "ours-2@kids-mediation.example.org"


def test_person_mail_has_no_bounced_recipients() -> None:
    assert bounced_recipients(parse_message(mail("andrew@example.org: User unknown, he said."))) == []
