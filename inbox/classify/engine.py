"""The engine: run the rule table on a message and give one `Verdict`.

Every rule is evaluated and every reason kept, with the name of the rule that gave it (staff can
see why a message got no acknowledgement, and /metrics counts the rules that fire). The kind is
the strongest vote: bounce > auto_reply > auto_generated. A DSN that also says
`Auto-Submitted: auto-replied` is a bounce, because intake must act on a bounce (the address is
undeliverable) whereas an auto-reply only needs to be left alone.

A rule that raises is a bug in our code, not a property of the mail: it is logged at ERROR (the
rule's name and the exception's type, nothing from the message) and recorded on the verdict
(`errors`), and the other rules still vote. Every rule votes only for machine mail, so a failed
rule can only have missed a machine sign: a machine verdict stands on the rules that fired, and a
person's verdict with errors is "probably a person, not checked fully", which intake treats as a
person's mail marked for a coordinator (inbox/intake.py, step_classify, says why).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from inbox.classify import autoreplies, bounces, bulk, headers, reports, senders, spam
from inbox.classify.bounces import delay_reason
from inbox.classify.facts import Facts
from inbox.classify.rule import AUTO_GENERATED, AUTO_REPLY, BOUNCE, Rule
from inbox.message import ParsedMessage
from inbox.pickled import by_fields

log = logging.getLogger("mdesk.inbox.classify")

PRECEDENCE = (BOUNCE, AUTO_REPLY, AUTO_GENERATED)  # strongest first


class RuleError(NamedTuple):
    """A rule that raised: its name and the exception's type (never its text, which may quote mail)."""

    rule: str
    error: str


@by_fields
@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str | None  # None (a person wrote it) | "auto_reply" | "bounce" | "auto_generated"
    reasons: tuple[str, ...]  # each rule that fired, in plain words; then why a bounce is only a delay
    delay: bool = False  # a bounce that is only a delay warning (not final)
    rules: tuple[str, ...] = ()  # the name of each rule that fired, in the order of `reasons`
    errors: tuple[RuleError, ...] = ()  # rules that raised (a bug): the verdict was reached without them


# The table, in evaluation order; within a kind, reasons are kept in this order. A new check is one
# function in the module of its kind and one line here.
RULES: tuple[Rule, ...] = (
    bounces.delivery_status_report,
    bounces.x_failed_recipients,
    senders.daemon_sender,
    bounces.bounce_subject,
    bounces.bounce_text,
    headers.auto_submitted_replied,
    headers.autoreply_header,
    headers.precedence_auto_reply,
    autoreplies.auto_reply_subject,
    autoreplies.self_declared_auto_reply,
    autoreplies.out_of_office_text,
    autoreplies.out_of_office_letter,
    autoreplies.challenge_response,
    headers.auto_submitted_generated,
    headers.precedence_bulk,
    headers.mailing_list,
    reports.feedback_report,
    reports.dmarc_report,
    reports.read_receipt,
    senders.noreply_sender,
    senders.system_sender,
    senders.bulk_envelope,
    bulk.bulk_mailer,
    headers.notification_system,
    bulk.unsubscribe_footer,
    bulk.do_not_reply_text,
    spam.spam_verdict,
    spam.spam_signals,
    senders.empty_from,
)


def classify(msg: ParsedMessage, rules: Sequence[Rule] | None = None) -> Verdict:
    """Run every rule of `rules` (the table RULES unless given); the strongest kind that fired wins,
    every reason and rule name is kept, and every rule that raised is recorded."""
    facts = Facts.of(msg)
    fired: dict[str, list[tuple[str, str]]] = {kind: [] for kind in PRECEDENCE}
    errors: list[RuleError] = []
    for each in RULES if rules is None else rules:
        try:
            reason = each(facts)
        except Exception as exc:  # a bug: recorded on the verdict, logged, and the other rules still vote
            errors.append(_failed(each, exc))
            continue
        if reason:
            fired[each.kind].append((each.name, reason))
    kind = next((k for k in PRECEDENCE if fired[k]), None)
    names, reasons = _in_precedence(fired)
    if kind == BOUNCE:
        why = delay_reason(facts)
        if why:
            return Verdict(kind, (*reasons, why), delay=True, rules=names, errors=tuple(errors))
    return Verdict(kind, reasons, rules=names, errors=tuple(errors))


def _in_precedence(fired: dict[str, list[tuple[str, str]]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names and reasons of the rules that fired, strongest kind first, table order within a kind."""
    hits = [hit for kind in PRECEDENCE for hit in fired[kind]]
    return tuple(name for name, _ in hits), tuple(reason for _, reason in hits)


def _failed(each: Rule, exc: Exception) -> RuleError:
    # The exception's text and traceback may quote the message: its type at ERROR, the rest at DEBUG.
    log.error(
        "classifier rule %s failed (%s): a bug; the message was classified without it", each.name, type(exc).__name__
    )
    log.debug("classifier rule traceback", exc_info=exc)
    return RuleError(each.name, type(exc).__name__)
