"""Bounces: delivery status notifications (RFC 3464/6533) and the non-standard failure notices of
the big MTAs (Postfix, qmail, Exim, sendmail, Exchange, Gmail, Lotus, carriers), and whether a
bounce is only a delay warning.

Intake must act on a bounce (the address is undeliverable), so the engine ranks it above every
other kind: a DSN that also says `Auto-Submitted: auto-replied` is a bounce. A person who forwards
or quotes a bounce to us is a person: subjects starting "Fwd:" do not match, body rules read only
the sender's own lead text, and a delivery-status part inside an enclosed message does not count.
"""

from __future__ import annotations

import re

from inbox.classify.facts import Facts, own_parts, part_text, said
from inbox.classify.rule import BOUNCE, rule
from inbox.classify.senders import from_is_empty, is_mail_system, is_postmaster
from inbox.gated import Gated
from inbox.message import ParsedMessage
from inbox.parse import content_type

DSN_PARTS = ("message/delivery-status", "message/global-delivery-status")


@rule(BOUNCE)
def delivery_status_report(f: Facts) -> str | None:
    """RFC 3464/6533 DSN: multipart/report; report-type=delivery-status, or a delivery-status part."""
    if f.report_type in ("delivery-status", "global-delivery-status"):
        return f"multipart/report; report-type={f.report_type}"
    for part in DSN_PARTS:
        if part in f.own_types:
            return f"{part} part"
    return None


@rule(BOUNCE)
def x_failed_recipients(f: Facts) -> str | None:
    """Exim (and others) name the failed addresses in X-Failed-Recipients."""
    return "X-Failed-Recipients header" if f.header("x-failed-recipients") else None


# Anchored at the start: these are the subjects MTAs write. Phrases a person could open a subject
# with ("Delivery failure of section F provision", "Returned mail from school", "Non-delivery of the
# plan") must be followed by the MTA's colon or bracket or end the subject. "Fwd:" in front means a
# person forwarded a bounce to us, which is a person's mail.
_BSEP = r"(?:\s*[:(\[]|\s*$)"
_BOUNCE_SUBJECT = re.compile(
    rf"""^(?:\[[^\]]{{1,30}}\]\s*)?(?:
        delivery\s+status\s+notification\b
      | undelivered\s+mail\s+returned\s+to\s+sender | mail\s+returned\s+to\s+sender
      | undeliver(?:able|ed)(?:\s+(?:mail|message|e-?mail))?{_BSEP}
      | delivery\s+(?:failure|failed|has\s+failed|problem|report|notification){_BSEP}
      | (?:failed|failure)\s+(?:mail\s+)?delivery{_BSEP}
      | returned\s+mail{_BSEP} | return(?:ed)?\s+to\s+sender{_BSEP}
      | (?:mail|message)\s+delivery\s+(?:failed|failure|problem|error|system|delayed){_BSEP}
      | message\s+(?:not\s+delivered|status\s*-\s*undeliverable|could\s+not\s+be\s+delivered){_BSEP}
      | failure\s+notice{_BSEP}
      | non[\s-]?deliver(?:y|able)\s+(?:report|notification|notice|mail|message)\b | nondeliverable\s+mail
      | (?:warning:\s+)?could\s+not\s+send\s+message\s+for\s+past
      | warning:\s+(?:message\s+.{{0,60}}\s+delayed|delayed\s+mail)
      | delayed\s+mail{_BSEP} | delivery\s+(?:delayed|delay){_BSEP}
      | mail\s+system\s+error\b | mail\s+could\s+not\s+be\s+delivered{_BSEP}
      | permanent\s+(?:delivery\s+)?(?:failure|error){_BSEP}
      | unable\s+to\s+deliver\s+(?:your\s+)?(?:message|mail|e-?mail)\b
      | e-?mail\s+bounce\s+notification | e-?mail\s+delivery\s+failure{_BSEP}
      | bounced?\s+(?:mail|message|e-?mail){_BSEP}
      | non\s+remis\b | non\s+distribuable | impossible\s+de\s+remettre
      | unzustellbar | nicht\s+zustellbar | zustellung\s+fehlgeschlagen | fehlgeschlagen{_BSEP} | r.cksendung
      | no\s+se\s+puede\s+entregar | no\s+entregado | error\s+de\s+entrega | entrega\s+fallida
      | non\s+recapitabile | mancato\s+recapito | impossibile\s+recapitare
      | onbestelbaar | niet\s+bezorgd | n.o\s+foi\s+poss.vel\s+entregar | n.o\s+entregue
      | ikke\s+levert | kan\s+inte\s+levereras | ej\s+levererat | olevererbart
      | nie\s+dostarczono | niedor.czalna
      | (?:メール|配信).{{0,8}}(?:エラー|失敗|不能) | (?:配信|送信|配送)(?:でき|出来)(?:ません|なかった)
      | 不达 | 退信 | 無法傳送 | 投递失败
    )""",
    re.IGNORECASE | re.VERBOSE,
)


@rule(BOUNCE)
def bounce_subject(f: Facts) -> str | None:
    """The subjects MTAs give bounces (Exchange "Undeliverable:", Gmail "Delivery Status
    Notification (Failure)", sendmail "Returned mail", Exim "Mail delivery failed", qmail "failure
    notice", Postfix "Undelivered Mail Returned to Sender", Lotus "DELIVERY FAILURE", "Non remis",
    "Unzustellbar", the Japanese carriers' 配信エラー, ...)."""
    if _BOUNCE_SUBJECT.match(f.subject):
        return f"subject {f.subject[:60]!r} is a delivery status notice"
    return None


# The opening words of the standard bounce texts (Postfix, qmail, Exim, sendmail, Exchange, Gmail):
# nobody types these, so they count whoever the sender is (in the lead text only).
_BOUNCE_SIGNATURE = Gated(
    re.compile(
        r"""(?=[cdty])(?:
            this\s+is\s+the\s+mail\s+system\s+at\s+host
          | this\s+is\s+the\s+qmail-send\s+program
          | created\s+automatically\s+by\s+mail\s+delivery\s+software
          | the\s+following\s+addresses\s+had\s+permanent\s+fatal\s+errors
          | delivery\s+has\s+failed\s+to\s+these\s+recipients\s+or\s+(?:groups|distribution\s+lists)
          | this\s+is\s+an\s+automatically\s+generated\s+delivery\s+status\s+notification
          | delivery\s+to\s+the\s+following\s+recipients?\s+failed\s+permanently
          | your\s+message\s+did\s+not\s+reach\s+some\s+or\s+all\s+of\s+the\s+intended\s+recipients
        )""",
        re.IGNORECASE | re.VERBOSE,
    ),
    # mail system at host, qmail, mail delivery, permanent fatal errors, intended recipients
    ("host", "qmail", "delivery", "permanent", "intended"),
)
# Failure wording that a person could use too; it counts only from a null or mail-system sender.
_BOUNCE_WORDS = re.compile(
    # The branches' first characters, so that the engine leaves every other position at once (40% sooner).
    r"""(?=[#5acdfhimnopqrstuwy])(?:
        (?:message|mail)\s+(?:that\s+you\s+sent\s+)?could\s+not\s+be\s+delivered
      | could\s+not\s+be\s+delivered\s+to
      | delivery\s+(?:to\s+the\s+following\s+recipients?\s+)?(?:has\s+)?failed
      | (?:your\s+)?message\s+(?:was\s+)?(?:not\s+delivered|undeliverable)
      | did\s+not\s+reach\s+(?:some\s+or\s+all\s+of\s+)?the\s+intended\s+recipients?
      | (?:following|these)\s+(?:addresses|recipients?)\s+(?:had\s+)?(?:permanent\s+)?(?:fatal\s+)?(?:errors|failed)
      | following\s+address(?:\(es\)|es)?\s+failed
      | unable\s+to\s+deliver\s+(?:your|the|this)\s+message | we\s+were\s+unable\s+to\s+deliver
      | returned\s+to\s+sender | undeliverable\s+(?:mail|message)
      | (?:user|mailbox|recipient|address)\s+(?:unknown|not\s+found|unavailable|does\s+not\s+exist|is\s+full)
      | no\s+such\s+(?:user|mailbox|recipient)
      | mailbox\s+(?:full|quota\s+exceeded) | over\s+quota | quota\s+exceeded
      | (?:permanent|transient)\s+(?:error|failure)
      | (?:invalid|unknown)\s+(?:user|recipient|address|mailbox)
      | (?:not|isn'?t)\s+a\s+valid\s+(?:user|recipient|address|mailbox|e-?mail)
      | \b5[0-5]\d[\s-]+(?:\#?5\.\d\.\d{1,3}\b|requested\s+action|mailbox|user|recipient|no\s+such|invalid
                         |rejected|relay|access\s+denied)
      | \#5\.\d\.\d{1,3}\b | status:\s*5\.\d\.\d{1,3}\b
      | warning\s+message\s+only | do\s+not\s+need\s+to\s+resend
      | delivery\s+(?:is\s+)?(?:delayed|attempts\s+will\s+continue) | has\s+not\s+(?:yet\s+)?been\s+delivered
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def _null_sender(f: Facts) -> bool:
    """RFC 5321 4.5.5: delivery reports are sent with a null reverse-path (<>)."""
    return f.return_path == "" or (not f.sender and from_is_empty(f))


@rule(BOUNCE)
def bounce_text(f: Facts) -> str | None:
    """A delivery failure told in words: a standard MTA bounce preamble in the lead text, or
    failure wording from a null or mail-system sender (qmail, Lotus, Novell, carrier bounces)."""
    m = _BOUNCE_SIGNATURE.search(f.lead, f.lead_low)
    if m:
        return f"body says {said(m)}"
    if _null_sender(f) or is_mail_system(f) or is_postmaster(f):
        m = _BOUNCE_WORDS.search(f.lead)
        if m:
            return f"null or mail-system sender and body says {said(m)}"
    return None


# Delay warnings: a bounce that says the mail is still queued, not lost.

ACTION = re.compile(r"^\s*action\s*:\s*([a-z]+)", re.I | re.M)
_DELAY_SUBJECT = re.compile(
    r"\(delay\)|\bdelayed\b|\bdelay\s+(?:notification|warning)|still\s+being\s+retried|"
    r"could\s+not\s+send\s+message\s+for\s+past|verz.gert|retard|retrasad|ritardat",
    re.I,
)
_DELAY_TEXT = re.compile(
    r"this\s+is\s+a\s+warning\s+message\s+only|you\s+do\s+not\s+need\s+to\s+resend|"
    r"(?:has|have)\s+not\s+yet\s+been\s+delivered|"
    r"delivery\s+(?:to\s+the\s+following\s+recipients?\s+)?(?:has\s+been|is)\s+delayed|"
    r"will\s+(?:continue\s+to\s+)?(?:retry|try|keep\s+trying)|still\s+(?:being\s+)?(?:retried|trying)",
    re.I,
)
_FINAL_TEXT = re.compile(
    r"permanent(?:ly)?\s+(?:error|failure|fatal)|failed\s+permanently|gave\s+up|giving\s+up|"
    r"has\s+been\s+returned|cannot\s+send\s+message\s+for",
    re.I,
)


def _dsn_actions(msg: ParsedMessage) -> list[str]:
    """The Action: field of every per-recipient block of the report's delivery-status parts."""
    actions: list[str] = []
    for part in own_parts(msg):
        if content_type(part) in DSN_PARTS:
            actions += [a.lower() for a in ACTION.findall(part_text(part))]
    return actions


def delay_reason(f: Facts) -> str | None:
    """Why this bounce is only a delay warning, or None when it is (or may be) final. The DSN's
    Action fields decide when there are any; a final word in the text beats a delay word."""
    actions = _dsn_actions(f.msg)
    if actions:
        return "Action: delayed (a delay warning, not final)" if all(a == "delayed" for a in actions) else None
    if _FINAL_TEXT.search(f.lead):
        return None
    if _DELAY_SUBJECT.search(f.subject):
        return f"subject {f.subject[:50]!r} is a delay warning"
    m = _DELAY_TEXT.search(f.lead)
    return f"body says {said(m)} (a delay warning)" if m else None
