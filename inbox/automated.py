"""Is this mail from a machine? The referrals mailbox must never acknowledge machine mail.

An acknowledgement sent to a bounce, an out-of-office or a mailing list starts a mail loop or
spams a list (RFC 3834 section 2), so `classify` runs on every message before intake may reply.
The opposite mistake costs more here: intake stores machine mail without opening a case, so a
family's referral taken for machine mail gets no case and no acknowledgement. Every rule is
therefore built on evidence a person's mail client does not produce, and a heuristic that can
be fooled by what a person writes needs a second, independent sign before it counts.

The check is a table of small named rules (Mailman's shape): each rule has a name, the kind it
votes for and a check that returns a plain-words reason or None. Every rule is evaluated and
every reason kept (staff can see why a message got no acknowledgement); the kind is the
strongest vote: bounce > auto_reply > auto_generated. A DSN that also says
`Auto-Submitted: auto-replied` is a bounce, because intake must act on a bounce (the address is
undeliverable) whereas an auto-reply only needs to be left alone.

Rules read the decoded headers dict, the subject, the MIME structure and a bounded slice of the
body text, never the raw bytes; regexes are compiled once. Subject patterns are anchored at the
start so a person's "Re: out of office hours support" stays a person's mail, and body rules read
only the sender's own lead text, so a person who quotes or forwards a bounce is a person.
`Auto-Submitted: no` is what a person's client may send explicitly (RFC 3834 5.1): nothing fires
on it.

`bounced_recipients` and `original_message_id` give intake what it needs to mark an address
undeliverable and to find the case our bounced mail belonged to; both never raise.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from inbox.message import ParsedMessage
from inbox.parse import content_type

log = logging.getLogger(__name__)

BOUNCE = "bounce"
AUTO_REPLY = "auto_reply"
AUTO_GENERATED = "auto_generated"
_PRECEDENCE = (BOUNCE, AUTO_REPLY, AUTO_GENERATED)  # strongest first

# Body scans are bounded: classify runs on every message and a 2 MB newsletter must cost no more
# than a short note. Machine boilerplate sits at the top; unsubscribe footers sit at the bottom.
_HEAD_CHARS = 4096
_TAIL_CHARS = 2048
_BOUNCE_TEXT_LIMIT = 16384  # a bounce's explanation plus the headers of the returned message


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str | None  # None (a person wrote it) | "auto_reply" | "bounce" | "auto_generated"
    reasons: tuple[str, ...]  # each rule that fired, in plain words
    delay: bool = False  # a bounce that is only a delay warning (not final)


# --------------------------------------------------------------------------------------------------
# What the rules look at, worked out once per message.

_QUOTE_START = re.compile(
    r"""^(?:
        \s*-{2,}\s*(?:original\s+message|forwarded\s+message|urspr.ngliche\s+nachricht|message\s+d'origine
                    |weitergeleitete\s+nachricht|mensaje\s+original|message\s+transf.r.)\s*-{2,}
      | \s*on\s.{1,200}\swrote:\s*$
      | \s*am\s.{1,200}\sschrieb\s.{0,80}:\s*$
      | \s*le\s.{1,200}\sa\s+.crit\s*:\s*$
      | \s*begin\s+forwarded\s+message:
      | \s*_{20,}\s*$
      | \s*\**from:\**\s.+\n\s*\**(?:sent|date|gesendet|envoy.|enviado):\**\s
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)


def _lead_text(text: str) -> str:
    """The sender's own words at the top of the body: the first few KB, quoted history cut off."""
    head = text[:_HEAD_CHARS]
    m = _QUOTE_START.search(head)
    if m:
        head = head[: m.start()]
    return "\n".join(line for line in head.splitlines() if not line.lstrip().startswith(">"))


# Most body patterns below are case-insensitive alternations that the regex engine must try at
# every position of the lead text (no literal prefix to skip ahead with), and together they were a
# third of all classify time. Nearly all mail contains none of their key words, so each pattern is
# gated by a plain substring test on a case-folded copy of the text. The fold must keep every match:
# under re.IGNORECASE, "ı" matches "i", "ſ" matches "s" and "İ" matches "i", which str.lower() leaves
# alone or turns into "i" plus U+0307 (these three are the only characters re.IGNORECASE equates with
# an ASCII letter that str.lower() does not turn into that letter), so they are mapped after lowering.
# Dropping every U+0307 may only open a gate more often, never less. Each pattern's needles are words
# every one of its branches must contain.


def _gate_fold(text: str) -> str:
    low = text.lower()
    if not low.isascii():  # str.translate would cost more than all the gates save on non-ASCII text
        low = low.replace("\u0131", "i").replace("\u017f", "s").replace("\u0307", "")
    return low


@dataclass(frozen=True, slots=True)
class _Gated:
    """A case-insensitive pattern that runs only when one of its needles is in the folded text."""

    rx: re.Pattern[str]
    needles: tuple[str, ...]

    def search(self, text: str, folded: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if not any(needle in folded for needle in self.needles):
            return None
        return self.rx.search(text, pos, endpos)


_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]+)", re.I)
_ENCLOSURES = ("message/rfc822", "message/global", "message/partial", "message/external-body")


def _own_parts(msg: ParsedMessage) -> Iterator[Message]:
    """Every MIME part of this message, without going into enclosed messages.

    A DSN's delivery-status part sits in the report itself; one inside a message/rfc822 is a
    bounce someone forwarded to us as an attachment, which makes them a person, not a bounce.
    """
    if msg.message is None:
        return
    stack: list[Message] = [msg.message]
    seen = 0
    while stack and seen < 500:  # the MIME torture test nests deep; a bound keeps this cheap
        part = stack.pop()
        seen += 1
        yield part
        if content_type(part) in _ENCLOSURES:
            continue
        try:
            payload = part.get_payload()
        except Exception:
            continue
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


@dataclass(slots=True)
class Facts:
    msg: ParsedMessage
    headers: dict[str, str]
    subject: str  # whitespace collapsed
    sender: str  # From addr-spec, lower case, "" when none
    sender_local: str
    sender_name: str  # display name, lower case
    return_path: str | None  # None: header absent, "": null return path <>
    report_type: str  # report-type of a top-level multipart/report, lower case, "" otherwise
    own_types: frozenset[str]  # content types of the message's own parts (not of enclosed mail)
    lead: str  # the sender's own words: first few KB, quoted history removed
    tail: str  # the last couple of KB of a long body (list and newsletter footers live there)
    # Case-folded copies for the cheap gates of _Gated (folded once here, read by several rules).
    lead_low: str = ""
    tail_low: str = ""
    subject_low: str = ""

    @classmethod
    def of(cls, msg: ParsedMessage) -> Facts:
        headers = msg.headers or {}
        sender = ((msg.sender.email if msg.sender else "") or "").lower()
        top = (headers.get("content-type") or "").lower()
        report = ""
        if top.startswith("multipart/report"):
            m = _REPORT_TYPE.search(top)
            report = m.group(1) if m else ""
        if msg.message is not None:
            own = frozenset(content_type(p) for p in _own_parts(msg))
        else:
            own = frozenset(ct.lower() for ct in msg.content_types or ())
        text = msg.text or ""
        # The parser's reply split is the first line of defence against quoted machine text (a
        # parent answering our acknowledgement quotes "This is an automatic acknowledgement");
        # our own cut at quote markers is the second.
        own_words = msg.new_text if (msg.new_text or "").strip() else text
        subject = " ".join((msg.subject or "").split())
        lead = _lead_text(own_words)
        tail = _lead_text(text[-_TAIL_CHARS:]) if len(text) > _HEAD_CHARS else ""
        return cls(
            msg=msg,
            headers=headers,
            subject=subject,
            sender=sender,
            sender_local=sender.rsplit("@", 1)[0] if "@" in sender else sender,
            sender_name=((msg.sender.name if msg.sender else "") or "").strip().strip("\"'").lower(),
            return_path=msg.return_path,
            report_type=report,
            own_types=own,
            lead=lead,
            tail=tail,
            lead_low=_gate_fold(lead),
            tail_low=_gate_fold(tail),
            subject_low=_gate_fold(subject),
        )

    def header(self, name: str) -> str:
        """A header's decoded value, stripped; "" when absent."""
        return (self.headers.get(name) or "").strip()

    def has(self, name: str) -> bool:
        return name in self.headers


def _said(m: re.Match[str], limit: int = 60) -> str:
    """The matched words, for a reason a coordinator can read."""
    return repr(" ".join(m.group(0).split())[:limit])


# --------------------------------------------------------------------------------------------------
# The rule table machinery.


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: str
    check: Callable[[Facts], str | None]
    description: str

    def __call__(self, facts: Facts) -> str | None:
        return self.check(facts)


def rule(kind: str) -> Callable[[Callable[[Facts], str | None]], Rule]:
    """Make a function into a named rule; its docstring says what it catches and why."""

    def wrap(fn: Callable[[Facts], str | None]) -> Rule:
        return Rule(fn.__name__, kind, fn, " ".join((fn.__doc__ or "").split()))

    return wrap


# --------------------------------------------------------------------------------------------------
# Bounces: delivery status notifications and the non-standard failure notices of the big MTAs.

_DSN_PARTS = ("message/delivery-status", "message/global-delivery-status")


@rule(BOUNCE)
def delivery_status_report(f: Facts) -> str | None:
    """RFC 3464/6533 DSN: multipart/report; report-type=delivery-status, or a delivery-status part."""
    if f.report_type in ("delivery-status", "global-delivery-status"):
        return f"multipart/report; report-type={f.report_type}"
    for part in _DSN_PARTS:
        if part in f.own_types:
            return f"{part} part"
    return None


@rule(BOUNCE)
def x_failed_recipients(f: Facts) -> str | None:
    """Exim (and others) name the failed addresses in X-Failed-Recipients."""
    return "X-Failed-Recipients header" if f.header("x-failed-recipients") else None


_DAEMON_LOCAL = re.compile(
    r"^(?:mailer[-_]?daemon|mail[-_]?daemon|mdaemon|mail\.?delivery|bounce-?notification|"
    r"microsoftexchange[0-9a-f]{32}|smtp-?gateway)$"
)
# postmaster@ must be read by a person (RFC 5321 4.5.1), so it only counts as the mail system
# when it does not sign with a person's name.
_POSTMASTER_LOCAL = re.compile(r"^post[-_.]?master$")
_DAEMON_NAME = re.compile(
    r"^(?:mail\s*delivery\s*(?:system|subsystem|service|daemon)|mailer[- ]daemon|postmaster|"
    r"mail\s+administrator|delivery\s+status\s+notification|internet\s+mail\s+delivery|post\s+office)\b"
)


def _is_mail_system(f: Facts) -> bool:
    if f.sender_local and _DAEMON_LOCAL.match(f.sender_local):
        return True
    if _POSTMASTER_LOCAL.match(f.sender_local):
        return not f.sender_name or f.sender_name == f.sender or bool(_DAEMON_NAME.match(f.sender_name))
    return False


@rule(BOUNCE)
def daemon_sender(f: Facts) -> str | None:
    """Mail from MAILER-DAEMON, postmaster or "Mail Delivery System" is a delivery report.
    Exchange Online sends its NDRs from MicrosoftExchange<32 hex>@."""
    if _is_mail_system(f):
        return f"sender {f.sender_local}@ is a mail system"
    if f.sender_name and _DAEMON_NAME.match(f.sender_name):
        return f'sender "{f.sender_name}" is a mail system'
    return None


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
_BOUNCE_SIGNATURE = _Gated(
    re.compile(
        r"""(?:
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
    r"""(?:
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
    return f.return_path == "" or (not f.sender and bool(re.search(r"<\s*>", f.header("from"))))


@rule(BOUNCE)
def bounce_text(f: Facts) -> str | None:
    """A delivery failure told in words: a standard MTA bounce preamble in the lead text, or
    failure wording from a null or mail-system sender (qmail, Lotus, Novell, carrier bounces)."""
    m = _BOUNCE_SIGNATURE.search(f.lead, f.lead_low)
    if m:
        return f"body says {_said(m)}"
    if _null_sender(f) or _is_mail_system(f) or _POSTMASTER_LOCAL.match(f.sender_local):
        m = _BOUNCE_WORDS.search(f.lead)
        if m:
            return f"null or mail-system sender and body says {_said(m)}"
    return None


# --------------------------------------------------------------------------------------------------
# Auto-replies: vacation and out-of-office, autoresponders, automatic acknowledgements,
# challenge-response.


def _auto_submitted(f: Facts) -> str:
    """The Auto-Submitted keyword (RFC 3834 5.1), lower case, parameters dropped; "" when absent."""
    return f.header("auto-submitted").split(";", 1)[0].strip().lower()


@rule(AUTO_REPLY)
def auto_submitted_replied(f: Facts) -> str | None:
    """RFC 3834 Auto-Submitted: auto-replied (and RFC 5436 auto-notified)."""
    keyword = _auto_submitted(f)
    if keyword.startswith(("auto-replied", "auto-notified")):
        return f"Auto-Submitted: {keyword}"
    return None


_AUTOREPLY_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponse",
    "x-autoresponder",
    "x-auto-reply",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-vacation",
)
_FALSY = frozenset({"no", "false", "0", "off", "none"})


@rule(AUTO_REPLY)
def autoreply_header(f: Facts) -> str | None:
    """X-Autoreply, X-Autorespond, X-Autoresponse and kin, set by vacation programs and hosted
    autoresponders; iCloud marks its vacation replies X-Apple-Action: VACATION."""
    for name in _AUTOREPLY_HEADERS:
        if f.has(name) and f.header(name).lower() not in _FALSY:
            return f"{name} header"
    if f.header("x-apple-action").lower().startswith("vacation"):
        return "X-Apple-Action: VACATION"
    return None


@rule(AUTO_REPLY)
def precedence_auto_reply(f: Facts) -> str | None:
    """Precedence: auto_reply, used by some autoresponders instead of Auto-Submitted."""
    return "Precedence: auto_reply" if f.header("precedence").lower().replace("-", "_") == "auto_reply" else None


# Out-of-office subjects, anchored at the start: Exchange "Automatic reply: ...", iCloud "Auto
# reply:", old Outlook "Out of Office AutoReply: ...", Lotus "AUTO: x is out of the office", and
# the localised Exchange prefixes. "Out of office" must be followed by a separator or the end (so
# "Out of office hours support" is a person's subject), "I am away ..." must be the whole subject.
_SEP = r"(?:\s*[:\-\u2013(\[]|\s*$)"
_AWAY = r"(?:out\s+of\s+(?:the\s+)?office|away|on\s+(?:annual\s+)?leave|on\s+holiday|on\s+vacation)"
_AUTO_REPLY_SUBJECT = re.compile(
    rf"""^(?:
        (?:automatic|auto(?:mated)?)[\s-]*(?:reply|response|respons|answer|antwort)\b
      | autoreply\b | autoresponse\b | autorespond(?:er)?\b
      | auto:\s
      | out\s+of\s+(?:the\s+)?office(?:\s+(?:auto[\s-]?reply|reply|notification|notice|message|response))?{_SEP}
      | out\s+of\s+(?:the\s+)?office\s+(?:until|till|from|returning)\b[^?]{{0,60}}$
      | (?:i\s+am|i'?m)\s+(?:currently\s+)?{_AWAY}(?:\s+(?:until|till|from|returning)\b[^?]{{0,40}})?\s*[.!]?$
      | away\s+from\s+(?:my|the)\s+desk{_SEP}
      | (?:vacation|holiday|absence)\s+(?:reply|response|notice|message|auto[\s-]?reply){_SEP} | vacation\s*:
      | ooo{_SEP} | ooo\s+(?:until|till|returning|back)\b
      | abwesenheits?(?:notiz|nachricht|meldung)\b | automatische\s+antwort\b | auto-antwort\b
      | r.ponse\s+automatique\b | reponse\s+automatique\b | absence\s+du\s+bureau\b | message\s+d'absence\b
      | respuesta\s+autom.tica\b | fuera\s+de\s+la\s+oficina\b | risposta\s+automatica\b | fuori\s+ufficio\b
      | resposta\s+autom.tica\b | automatisch\s+antwoord\b | afwezig\b
      | autosvar\b | automatisk\s+svar\b | fr.nvaro\b | frav.r\b
      | \[?automatyczna\s+odpowied. | automatick.\s+odpov.d\b
      | 自動応答 | 自動返信 | 自动回复 | 자동\s*응답 | автоматический\s+ответ | автоответ
    )""",
    re.IGNORECASE | re.VERBOSE,
)


@rule(AUTO_REPLY)
def auto_reply_subject(f: Facts) -> str | None:
    """Exchange/Outlook "Automatic reply:", iCloud "Auto reply:", Lotus "AUTO: ... out of the
    office", "Out of Office", "OOO", "Autosvar", "Automatische Antwort", "Réponse automatique", ...
    A subject that starts "Re:" is a person answering one of these, so it does not count."""
    if _AUTO_REPLY_SUBJECT.match(f.subject):
        return f"subject {f.subject[:60]!r} is an automatic reply"
    return None


# What only an autoresponder says about its own message.
_SELF_DECLARED = _Gated(
    re.compile(
        r"""(?:
            this\s+is\s+an?\s+(?:auto(?:matic|mated)?|auto-generated|automatically\s+generated)[\s-]*
                (?:reply|response|message|acknowledge?ment|e-?mail|notification|confirmation)
          | (?:this|the)\s+(?:e-?mail|message|reply|response)\s+(?:is|was|has\s+been)\s+(?:sent\s+|generated\s+)?
                automatically
          | (?:automatic|automated|auto)[\s-]+(?:reply|response)\s*:
        )""",
        re.IGNORECASE | re.VERBOSE,
    ),
    # auto, automatic, automated, automatically
    ("auto",),
)


# Autoresponders say it at once; further down it is more likely quoted text that escaped the
# reply split (our own acknowledgement ends with "This is an automatic acknowledgement").
_SELF_DECLARED_WITHIN = 1000


@rule(AUTO_REPLY)
def self_declared_auto_reply(f: Facts) -> str | None:
    """The opening of the body says so: "This is an automatic reply", "This message was sent
    automatically"."""
    m = _SELF_DECLARED.search(f.lead, f.lead_low, 0, _SELF_DECLARED_WITHIN)
    return f"body says {_said(m)}" if m else None


# The out-of-office and acknowledgement sentences. A person can write them too ("I am out of
# the office until Monday but wanted to send the form"), so they count only with a machine envelope.
_AWAY_TEXT = _Gated(
    re.compile(
        rf"""(?:
            (?:i\s+am|i'?m|i\s+will\s+be)\s+(?:currently\s+)?(?:{_AWAY}|away\s+from\s+(?:the|my)\s+(?:office|desk))
                \b.{{0,80}}(?:until|returning|back|from|limited\s+access|no\s+access)
          | i\s+will\s+(?:respond|reply|get\s+back\s+to\s+you)\s+(?:to\s+your\s+(?:e-?mail|message)\s+)?
                (?:as\s+soon\s+as\s+possible\s+)?(?:on|upon|when|after)\s+my\s+return
          | thank\s+you\s+for\s+(?:your|you)\s+(?:e-?mail|message)\.?\s+(?:i|we)\s+(?:will|am|'m|shall|are|have)\s+
                (?:endeavour|endeavor|currently|out|away|on\s+leave|be\s+(?:out|away|back)|received)
          | (?:we|i)\s+(?:have|'ve)\s+received\s+your\s+(?:e-?mail|message|enquiry|inquiry|request)
          | thank\s+you\s+for\s+(?:your\s+(?:e-?mail|message|enquiry|inquiry)|contacting)\b.{{0,200}}?
                (?:we|i)\s+(?:will|aim\s+to|shall|'ll|endeavour\s+to)\s+(?:respond|reply|get\s+back|be\s+in\s+touch|contact\s+you)
          | out\s+of\s+(?:the\s+)?office | abwesend | absent(?:e)?\s+du\s+bureau
        )""",
        re.IGNORECASE | re.VERBOSE | re.DOTALL,
    ),
    # each branch in order; out of office also covers the last-but-two
    ("office", "away", "leave", "holiday", "vacation", "return", "thank", "received", "abwesend", "absent"),
)


def _machine_envelope(f: Facts) -> str | None:
    """A sign that a program sent the mail, though not what kind of mail it is."""
    if f.return_path == "":
        return "null return path"
    precedence = f.header("precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if f.has("x-auto-response-suppress"):  # Exchange puts it on its own automatic replies
        return "X-Auto-Response-Suppress"
    keyword = _auto_submitted(f)
    if keyword and keyword != "no":  # some out-of-office systems say auto-generated
        return f"Auto-Submitted: {keyword}"
    if f.sender_local and _NOREPLY.search(f.sender_local):  # automatic acknowledgements
        return f"no-reply sender {f.sender_local}@"
    return None


@rule(AUTO_REPLY)
def out_of_office_text(f: Facts) -> str | None:
    """An autoresponder without an auto-reply header (Exchange out-of-office without
    Auto-Submitted, bulk-precedence autoresponders, a council's no-reply acknowledgement): an
    out-of-office or "we have received your email" sentence in the lead or subject, together with
    a machine envelope (null return path, Precedence bulk/junk, X-Auto-Response-Suppress,
    Auto-Submitted: auto-generated, a no-reply sender). Such an answer to our mail is an
    automatic reply rather than other machine mail."""
    envelope = _machine_envelope(f)
    if envelope is None:
        return None
    m = _AWAY_TEXT.search(f.lead, f.lead_low) or _AWAY_TEXT.search(f.subject, f.subject_low)
    return f"{envelope} and the text says {_said(m)}" if m else None


# An out-of-office letter with no machine header at all (a client-side rule, a small provider's
# autoresponder). Told by its shape, all of which must hold: it answers a message, it is short, it
# says the writer is away until a date, and it has two more of the hallmarks of such letters.
_LEAVE = r"(?:annual|maternity|paternity|parental|sick|study|compassionate)\s+"
_AWAY_UNTIL = re.compile(
    rf"""(?:i\s+am|i'?m|i\s+will\s+be)\s+(?:currently\s+|now\s+)?
        (?:out\s+of\s+(?:the\s+)?office|away|on\s+(?:{_LEAVE})?leave|on\s+holiday|on\s+vacation|off\s+work
          |not\s+in\s+the\s+office|on\s+a\s+training\s+course|at\s+a\s+(?:conference|training))
        \b.{{0,120}}?(?:until|till|returning|will\s+(?:be\s+)?(?:back|return)|back\s+(?:on|in)|return\s+on)""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
_OOO_HALLMARKS = (
    (
        "opens with thanks",
        re.compile(
            r"^\W*(?:thank\s+you|thanks)\s+(?:very\s+much\s+)?for\s+(?:your|you)\s+"
            r"(?:e-?mail|message|enquiry)",
            re.I,
        ),
    ),
    (
        "limited email",
        re.compile(
            r"(?:limited|no|intermittent|occasional)\s+access\s+to\s+(?:my\s+)?e-?mails?|"
            r"(?:only\s+)?checking\s+(?:my\s+)?e-?mails?\s+(?:occasionally|intermittently|"
            r"periodically|infrequently)",
            re.I,
        ),
    ),
    (
        "urgent matters",
        re.compile(
            # urgent matters go to someone else ("please contact Mr Dale"), not "call me"
            r"\burgent\b.{0,80}?\b(?:contact|call|e-?mail|ring|speak\s+to|phone)\s+(?!me\b)|\bin\s+my\s+absence\b",
            re.I | re.S,
        ),
    ),
    (
        "on my return",
        re.compile(
            r"(?:on|upon|after|when)\s+(?:my|i)\s+return|when\s+i'?m\s+back|"
            r"as\s+soon\s+as\s+(?:possible|i\s+can)\s+(?:on|after|when)",
            re.I,
        ),
    ),
    ("not forwarded", re.compile(r"will\s+not\s+be\s+(?:forwarded|read|actioned)", re.I)),
)
_REPLY_SUBJECT = re.compile(r"^(?:re|aw|sv|antw|vs|r)\s*:", re.I)
_OOO_LETTER_MAX = 700


@rule(AUTO_REPLY)
def out_of_office_letter(f: Facts) -> str | None:
    """An out-of-office reply without any marking header: an answer to a message, under 700
    characters, saying "I am away/on leave until ...", with at least two further hallmarks (opens
    with "Thank you for your email", limited access to email, "if urgent", "on my return", "will
    not be forwarded"). A person's real answer carries its own content and rarely all of these."""
    if not (f.msg.in_reply_to or f.msg.references or _REPLY_SUBJECT.match(f.subject)):
        return None
    lead = f.lead.strip()
    if len(lead) > _OOO_LETTER_MAX:
        return None
    away = _AWAY_UNTIL.search(lead)
    if not away:
        return None
    marks = [name for name, pattern in _OOO_HALLMARKS if pattern.search(lead)]
    if len(marks) < 2:
        return None
    return f"out-of-office letter: {_said(away, 50)} ({', '.join(marks)})"


_CHALLENGE = _Gated(
    re.compile(
        r"""(?:
            (?:confirm|verify|prove)\s+(?:that\s+)?you\s+are\s+(?:a\s+)?(?:human|real\s+person|not\s+a\s+(?:robot|spammer))
          | (?:sender|e-?mail\s+address)\s+verification\s+(?:request|required|needed)
          | (?:added|add\s+yourself|have\s+your\s+address\s+added)\s+to\s+(?:the\s+recipient'?s?\s+|my\s+)?
            (?:allowed|approved|accepted|guest|white)\s*(?:senders?\s+)?list
          | your\s+(?:message|e-?mail)\b.{0,80}?\s(?:has\s+been|was|is\s+being)\s+
            (?:waitlisted|held\s+(?:for|pending)\s+(?:verification|confirmation|approval)|quarantined\s+pending)
          | this\s+account\s+is\s+protected\s+by\b
          | (?:challenge|anti-?spam)[\s-]+(?:response|verification)\s+(?:system|service|request)
        )""",
        re.IGNORECASE | re.VERBOSE,
    ),
    # confirm/verify/prove, verification, added to the allowed/approved (prove)/accepted/guest/white list,
    # waitlisted/held/quarantined, protected, challenge/anti-spam
    (
        "confirm",
        "verify",
        "prove",
        "verification",
        "allowed",
        "accepted",
        "guest",
        "white",
        "waitlisted",
        "held",
        "quarantined",
        "protected",
        "challenge",
        "spam",
    ),
)


@rule(AUTO_REPLY)
def challenge_response(f: Facts) -> str | None:
    """Challenge-response anti-spam systems (Boxbe, Bluebottle, SpamArrest, ...) ask the sender to
    prove they are human; answering them with an acknowledgement would loop."""
    m = _CHALLENGE.search(f.lead, f.lead_low)
    return f"challenge-response: {_said(m)}" if m else None


# --------------------------------------------------------------------------------------------------
# Other machine mail: lists and newsletters, reports, receipts, notifications, spam.


@rule(AUTO_GENERATED)
def auto_submitted_generated(f: Facts) -> str | None:
    """RFC 3834: any Auto-Submitted value other than "no" means no person sent it - except a web
    form's notification relaying a person's enquiry (the person wrote it; we answer them, not it)."""
    keyword = _auto_submitted(f)
    if keyword and keyword != "no" and not keyword.startswith(("auto-replied", "auto-notified")):
        if _form_submission(f):
            return None
        return f"Auto-Submitted: {keyword}"
    return None


@rule(AUTO_GENERATED)
def precedence_bulk(f: Facts) -> str | None:
    """Precedence: bulk, junk or list (RFC 3834 2: never answer them)."""
    value = f.header("precedence").lower()
    return f"Precedence: {value}" if value in ("bulk", "junk", "list") else None


_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "mailing-list", "x-mailing-list", "list-help")


@rule(AUTO_GENERATED)
def mailing_list(f: Facts) -> str | None:
    """List-Id, List-Unsubscribe and kin (RFC 2369/2919), Mailman's X-BeenThere, X-Loop. A person
    writing through a list is still list traffic: an acknowledgement would go to every subscriber."""
    for name in _LIST_HEADERS:
        if f.header(name):
            return f"{name.title()} header"
    for name in ("x-beenthere", "x-loop"):
        if f.header(name):
            return f"{name.title()} header"
    return None


@rule(AUTO_GENERATED)
def feedback_report(f: Facts) -> str | None:
    """ARF abuse and DMARC failure reports (RFC 5965): multipart/report; report-type=feedback-report."""
    if f.report_type == "feedback-report":
        return "multipart/report; report-type=feedback-report"
    if "message/feedback-report" in f.own_types:
        return "message/feedback-report part"
    return None


_DMARC_SUBJECT = re.compile(r"^(?:report\s+domain:|dmarc\s+(?:aggregate|forensic|failure)\s+report)", re.I)
# Aggregate reports are named receiver!policy-domain!begin!end[!id].xml[.gz|.zip] (RFC 7489 7.2.1.1).
_DMARC_FILE = re.compile(r"^[\w.-]+![\w.-]+!\d{9,}!\d{9,}", re.I)


@rule(AUTO_GENERATED)
def dmarc_report(f: Facts) -> str | None:
    """DMARC reports: "Report Domain:" subjects and the receiver!domain!begin!end report files."""
    if _DMARC_SUBJECT.match(f.subject):
        return f"DMARC report subject {f.subject[:40]!r}"
    for att in f.msg.attachments or ():
        if att.filename and _DMARC_FILE.match(att.filename):
            return "DMARC aggregate report attachment"
    return None


_MDN_SUBJECT = re.compile(
    r"^(?:read|not\s+read|gelesen|nicht\s+gelesen|lu|non\s+lu|le[ií]do|no\s+le[ií]do|letto|gelezen|l.st|"
    r"read\s+receipt|return\s+receipt|read-receipt|displayed|lesebest.tigung)\s*:",
    re.I,
)
_MDN_BODY = re.compile(
    r"was\s+(?:read|displayed)\s+on|message\s+was\s+displayed|wurde\s+am\s.{0,40}gelesen|a\s+.t.\s+lu\s+le", re.I
)


@rule(AUTO_GENERATED)
def read_receipt(f: Facts) -> str | None:
    """Read receipts: RFC 8098 MDNs and Outlook's "Read: ..." receipts."""
    if f.report_type == "disposition-notification":
        return "multipart/report; report-type=disposition-notification"
    if "message/disposition-notification" in f.own_types:
        return "message/disposition-notification part"
    if _MDN_SUBJECT.match(f.subject) and (_MDN_BODY.search(f.lead) or f.has("original-recipient")):
        return f"read receipt {f.subject[:40]!r}"
    return None


_NOREPLY = re.compile(
    r"(?:^|[._+-])(?:no-?reply\w*|do-?not-?reply|donot-?reply|dont-?reply|no_reply|do_not_reply|"
    r"ne-?pas-?repondre|nepasrepondre|keine-?antwort|no-?responder|unmonitored)(?:$|[._+-])"
)


def unanswerable(address: str) -> bool:
    """An address nobody reads: no-reply (noreply@, do-not-reply@...) or a program's (root@,
    notifications@...). A web form's notification from one is answered at the address typed in it."""
    local = address.lower().rsplit("@", 1)[0]
    return bool(_NOREPLY.search(local) or _SYSTEM_LOCAL.match(local))


def _answerable(email: str, f: Facts) -> bool:
    """Someone else's address that a person reads: not the sender's, nor one this mail went to (us)."""
    recipients = {a.email for a in (*f.msg.to, *f.msg.cc)}
    return "@" in email and email != f.sender and email not in recipients and not unanswerable(email)


# A web form's notification: the form's own labelled fields, one of them the person's address.
# html_text renders a table row as "label | value", so either separator counts.
_FORM_EMAIL = re.compile(
    r"^[ \t*-]*(?:your\s+|contact\s+|parent(?:'s)?\s+|sender(?:'s)?\s+)?e-?mail(?:\s+address)?\s*[:|]\s*"
    r"<?(?:mailto:)?([\w.+'-]+@[\w-]+(?:\.[\w-]+)+)",
    re.I | re.M,
)
_FORM_FIELD = re.compile(
    r"^[ \t*-]*(?:your\s+|full\s+|first\s+|contact\s+)?(?:name|phone|telephone|mobile|message|enquiry|"
    r"comments?|subject|postcode|local\s+authority)(?:\s+number)?\s*(?:\([^)\n]{0,30}\))?\s*[:|]",
    re.I | re.M,
)


def _form_submission(f: Facts) -> bool:
    """The body is a form's submission: labelled fields, one an address of the person who filled
    it in (not the sender's, not a no-reply), and at least one more field."""
    m = _FORM_EMAIL.search(f.lead)
    return m is not None and _answerable(m.group(1).lower(), f) and _FORM_FIELD.search(f.lead) is not None


def _relays_a_person(f: Facts) -> bool:
    """A machine From that carries a person's words and asks for answers to them: a Reply-To naming
    someone else's real mailbox (web forms and "on behalf of" services put the person there; RFC
    5322 3.6.2), or a web form's submission naming the person's address in its fields. Taking
    either for machine mail would lose a referral."""
    return any(_answerable((a.email or "").lower(), f) for a in f.msg.reply_to or ()) or _form_submission(f)


@rule(AUTO_GENERATED)
def noreply_sender(f: Facts) -> str | None:
    """noreply / no-reply / donotreply / do-not-reply senders say themselves that nobody reads
    replies (checked on From and on the envelope sender, the Return-Path) - unless a Reply-To
    names a person to answer instead: that is a person's message relayed (a web form), and taking
    it for machine mail would lose a referral."""
    if _relays_a_person(f):
        return None
    if f.sender_local and _NOREPLY.search(f.sender_local):
        return f"sender {f.sender_local}@ is a no-reply address"
    rp_local = (f.return_path or "").rsplit("@", 1)[0]
    if rp_local and _NOREPLY.search(rp_local):
        return f"Return-Path {rp_local}@ is a no-reply address"
    return None


# Local parts that belong to programs or broadcast desks, never to a person writing a referral.
_SYSTEM_LOCAL = re.compile(
    r"^(?:root|cron|daemon|nobody|www-?data|apache|nginx|httpd|oracle|postgres|mysql|jenkins|"
    r"newsletters?|e?news|mailings?|mailer(?!-daemon)|notifications?|notify|notifier|alerts?|automated|"
    r"bounces?|marketing|campaigns?|promotions?|offers|deals|updates)(?:$|[-_+\d])"
)


@rule(AUTO_GENERATED)
def system_sender(f: Facts) -> str | None:
    """Sender is a program's or a broadcast desk's mailbox (root@, cron@, oracle@, newsletter@,
    news@, notifications@, alerts@, marketing@, ...), unless it relays a person's web form."""
    if f.sender_local and _SYSTEM_LOCAL.match(f.sender_local) and not _form_submission(f):
        return f"sender {f.sender_local}@ is a system or broadcast mailbox"
    return None


# Envelope senders that route bounces back to a bulk sender (VERP, ESP bounce domains, Mailman).
_BULK_RETURN_PATH = re.compile(r"^bounces?[+=_.@-]|^bnc[+=_.-]|[@.]bounces?\.|-bounces?[+=@]|^msprvs")


@rule(AUTO_GENERATED)
def bulk_envelope(f: Facts) -> str | None:
    """Return-Path is a bulk sender's bounce-collecting address (bounces@, bounce-...@,
    @bounce.example.com, a list's -bounces@): the mail came from a mailing system."""
    rp = f.return_path or ""
    if rp and _BULK_RETURN_PATH.search(rp):
        return f"Return-Path {rp.rsplit('@', 1)[0][:30]}@ is a bulk sender's bounce address"
    return None


# Headers only bulk and transactional sending platforms add (Gmail's Feedback-ID for bulk senders,
# SendGrid, Mailchimp/Mandrill, Mailjet, Brevo, the CSA certification, ...). Mailgun's X-Mailgun-Tag
# is left out: it is an instruction to Mailgun that survives into one-to-one mail (talon/outlook.eml).
_BULK_HEADER_PREFIXES = (
    "feedback-id",
    "x-campaign",
    "x-mc-user",
    "x-mandrill-user",
    "x-mailchimp",
    "x-sg-eid",
    "x-sg-id",
    "x-csa-complaints",
    "x-newsletter",
    "x-bulkmail",
    "x-mailjet-campaign",
    "x-sib-id",
    "x-ems-",
)
_BULK_MAILER = re.compile(
    r"mailchimp|mailjet|sendinblue|brevo|phplist|campaign\s*monitor|getresponse|mailpoet|constant\s*contact|"
    r"acumbamail|newsletter|bulk\s*mail|mass\s*mail|sendy|mautic|hubspot|marketo|pardot|eloqua|exacttarget|"
    r"emarsys|klaviyo|rapidmail|cleverreach",
    re.I,
)
# Some gateways stamp their bulk ("infomail") verdict on the mail.
_BULK_VERDICT_HEADERS = ("x-antispameurope-detected-infomail", "x-bulk-mail", "x-is-bulk")


@rule(AUTO_GENERATED)
def bulk_mailer(f: Facts) -> str | None:
    """Marks of bulk-sending platforms: Feedback-ID, X-Campaign, X-SG-EID, X-CSA-Complaints, a
    newsletter X-Mailer, a gateway's bulk verdict, or Microsoft's bulk complaint level (BCL) at or
    above its default bulk threshold of 7."""
    for name in f.headers:
        if name.startswith(_BULK_HEADER_PREFIXES):
            return f"{name} header (bulk sending platform)"
    mailer = f.header("x-mailer") or f.header("user-agent")
    if mailer and _BULK_MAILER.search(mailer):
        return f"X-Mailer {mailer[:40]!r} is a bulk mailer"
    for name in _BULK_VERDICT_HEADERS:
        if f.header(name).lower() in ("yes", "true", "1"):
            return f"{name}: yes"
    m = re.search(r"\bBCL:(\d)", f.header("x-microsoft-antispam"))
    if m and int(m.group(1)) >= 7:
        return f"Microsoft bulk complaint level BCL:{m.group(1)}"
    return None


_NOTIFIER_PREFIXES = (
    "x-jira-",
    "x-servicenow-",
    "x-github-",
    "x-gitlab-",
    "x-zendesk-",
    "x-redmine-",
    "x-bugzilla-",
    "x-trac-",
    "x-otrs-",
    "x-znuny-",
    "x-amz-sns-",
    "x-freshdesk-",
    "x-sentry",
    "x-pagerduty",
)


@rule(AUTO_GENERATED)
def notification_system(f: Facts) -> str | None:
    """Ticket and alert systems (JIRA, ServiceNow, GitHub, Zendesk, Amazon SNS, ...) mark their mail."""
    for name in f.headers:
        if name.startswith(_NOTIFIER_PREFIXES):
            return f"{name} header (notification system)"
    return None


# What a newsletter says to its reader. Not "opt out" or "unsubscribe me", which a person writes
# (a parent may well "opt out of mediation").
_UNSUBSCRIBE = _Gated(
    re.compile(
        r"""(?:
            (?:click|tap)\s+here\s+to\s+unsubscribe | here\s+to\s+unsubscribe
          | to\s+unsubscribe(?:\s*,|\s+from\s+(?:this|these|our|future|all)
                             |\s+(?:click|visit|please|go\s+to|follow|send|use))
          | \bunsubscribe\s+(?:here|now|link|from\s+(?:this|our|these|further|all|future|the))
          | \bunsubscribe\s*[|\u00b7\u2022] | [|\u00b7\u2022]\s*unsubscribe\b
          | (?:no\s+longer\s+wish|do\s+not\s+wish|don'?t\s+want)\s+to\s+receive\s+(?:these|such|our|further|future|this)
          | you\s+(?:are\s+)?receiv(?:e|ing)\s+this\s+(?:e-?mail|message|newsletter)\s+because
          | (?:view|read|open)\s+(?:this\s+(?:e-?mail|message|newsletter)\s+)?(?:in|with)\s+(?:your|a|the)\s+
                (?:web\s+)?browser
          | to\s+stop\s+receiving\s+(?:these|such|our)\s+e-?mails
          | manage\s+your\s+(?:e-?mail\s+)?(?:preferences|subscriptions?)
          | this\s+(?:e-?mail|message|newsletter)\s+(?:does\s+not|doesn'?t|is\s+not)\s+display(?:ing)?\s+
                (?:correctly|properly)
          | having\s+trouble\s+(?:viewing|reading)\s+this\s+(?:e-?mail|message)
          | wenn\s+diese\s+(?:e-?mail|nachricht|mail)\s+nicht\s+(?:richtig|korrekt)\s+(?:dargestellt|angezeigt)
          | newsletter\s+(?:abbestellen|abmelden) | hier\s+abmelden
          | si\s+ce\s+(?:message|courriel|mail)\s+ne\s+s'affiche\s+pas | se\s+d.sinscrire | se\s+d.sabonner
          | darse\s+de\s+baja | cancelar\s+(?:la\s+)?suscripci.n
        )""",
        re.IGNORECASE | re.VERBOSE,
    ),
    # each branch in order ("received" is in most bounces, so not "receiv": wish/want to receive,
    # receiving this ... because, stop receiving)
    (
        "unsubscribe",
        "wish",
        "want",
        "because",
        "receiving",
        "browser",
        "manage",
        "display",
        "trouble",
        "wenn",
        "newsletter",
        "abmelden",
        "affiche",
        "sinscrire",
        "sabonner",
        "baja",
        "cancelar",
    ),
)
_FORWARD_SUBJECT = re.compile(r"^(?:fw|fwd|wg|tr|vs|rv|doorst)\s*:", re.I)


@rule(AUTO_GENERATED)
def unsubscribe_footer(f: Facts) -> str | None:
    """A newsletter without list headers still tells its reader how to unsubscribe or view it in a
    browser (top or bottom of the body). Not counted on a reply or a forward: a person who answers
    or forwards a newsletter to us is a person."""
    if f.msg.in_reply_to or f.msg.references or f.msg.forwarded or _FORWARD_SUBJECT.match(f.subject):
        return None
    m = _UNSUBSCRIBE.search(f.lead, f.lead_low) or _UNSUBSCRIBE.search(f.tail, f.tail_low)
    return f"newsletter wording: {_said(m, 50)}" if m else None


# Whole sentences only: a council's disclaimer says "Please do not reply to this email address if
# you are not the intended recipient", which is a person's mail.
_SENTENCE_END = r"\s*(?:[.!]|,?\s+(?:as|because|since)\s|\s*$)"
_DO_NOT_REPLY = _Gated(
    re.compile(
        r"(?:please\s+)?do\s+not\s+(?:reply|respond)\s+(?:directly\s+)?to\s+this\s+(?:e-?mail|message)(?:\s+address)?"
        + _SENTENCE_END
        + r"|this\s+(?:e-?mail\s+address|mailbox|inbox)\s+is\s+(?:not\s+monitored|unattended|unmonitored)"
        + _SENTENCE_END
        + r"|this\s+(?:e-?mail|message)\s+(?:was\s+|has\s+been\s+)?(?:automatically\s+generated|sent\s+from\s+an?\s+"
        r"(?:unmonitored|automated))",
        re.I | re.M,
    ),
    # do not reply/respond, not monitored/unattended/unmonitored, automatically/automated
    ("reply", "respond", "monitored", "unattended", "automat"),
)


@rule(AUTO_GENERATED)
def do_not_reply_text(f: Facts) -> str | None:
    """A notification that says nobody reads its mailbox ("Please do not reply to this email")."""
    m = _DO_NOT_REPLY.search(f.lead, f.lead_low)
    return f"body says {_said(m, 50)}" if m else None


# Spam verdicts stamped by the filters in front of the mailbox (SpamAssassin, rspamd, Microsoft EOP,
# Barracuda): a filter's "yes" is better evidence than anything we could guess.
_SPAM_SUBJECT_TAG = re.compile(r"^\s*(?:\*{2,}\s*spam\s*\*{2,}|\[spam\]|\{spam\??\}|\(spam\)|spam:)", re.I)


@rule(AUTO_GENERATED)
def spam_verdict(f: Facts) -> str | None:
    """A spam filter upstream said spam: X-Spam-Flag: YES, X-Spam-Status: Yes, X-Spam: yes,
    Microsoft SFV:SPM or SCL >= 5, or a [SPAM] subject tag."""
    if f.header("x-spam-flag").lower().startswith("yes"):
        return "X-Spam-Flag: YES"
    if f.header("x-spam-status").lower().startswith("yes"):
        return "X-Spam-Status: Yes"
    for name in ("x-spam", "x-barracuda-spam-status", "x-spam-verdict"):
        if f.header(name).lower().startswith(("yes", "spam")):
            return f"{name.title()}: {f.header(name)[:20]}"
    forefront = f.header("x-forefront-antispam-report")
    if re.search(r"\bSFV:(?:SPM|BLK)\b", forefront):
        return "Microsoft EOP verdict SFV:SPM"
    m = re.search(r"\bSCL:(\d)", forefront + " " + f.header("x-ms-exchange-organization-scl"))
    if m and int(m.group(1)) >= 5:
        return f"Microsoft spam confidence SCL:{m.group(1)}"
    if _SPAM_SUBJECT_TAG.match(f.subject):
        return "subject tagged as spam"
    return None


# Postfix "from helo (unknown [ip])", qmail "from unknown (HELO helo) (ip)": no reverse DNS.
_RDNS_NONE = re.compile(
    r"^from\s+(?:\S+\s+\(unknown\s+\[(?P<a>[0-9a-f.:]+)\]|unknown\s+\(helo\s[^)]*\)\s+\((?:[^)@]*@)?\[?(?P<b>[0-9a-f.:]+))",
    re.I,
)
_FREEMAIL_HELO = re.compile(
    r"^from\s+(?:gmail\.com|googlemail\.com|hotmail\.com|outlook\.com|live\.com|yahoo\.[a-z.]+|aol\.com|"
    r"msn\.com|qq\.com|163\.com|126\.com|sina\.com|icloud\.com)\s",
    re.I,
)


def _public_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_global
    except ValueError:
        return False


def _receiving_hop(msg: ParsedMessage) -> str:
    """The Received header our side wrote when the mail came in from outside: the topmost one with
    a "from" clause naming a public address. Lower hops are the sender's word and prove nothing."""
    try:
        values = (msg.message.get_all("received") or []) if msg.message is not None else []
    except Exception:
        return ""
    for value in list(values)[:6]:
        text = " ".join(str(value).split())
        if not text.lower().startswith("from "):
            continue
        ips = [a or b for a, b in re.findall(r"\[([0-9a-f.:]+)\]|\(([0-9.]+)\)", text)]
        if ips and not any(_public_ip(ip) for ip in ips):
            continue  # an internal relay hop
        return text
    return ""


def _spam_signals(f: Facts) -> list[str]:
    """SpamAssassin-style weak signals; none is enough alone, a person's mail rarely shows two."""
    signals: list[str] = []
    hop = _receiving_hop(f.msg)
    m = _RDNS_NONE.match(hop)
    if m and _public_ip(m.group("a") or m.group("b") or ""):
        signals.append("sending host has no reverse DNS")
    if _FREEMAIL_HELO.match(hop):
        signals.append("HELO claims a webmail domain")
    if not f.has("message-id"):
        signals.append("no Message-ID")
    mailer = f.header("x-mailer").lower()
    if mailer.startswith(("microsoft outlook express", "foxmail")):
        signals.append(f"X-Mailer {mailer[:30]!r}, long dead and a spam-bot favourite")
    html = (f.msg.html or "")[: _HEAD_CHARS * 4].lower()
    if "<img" in html and len(f.lead.strip()) < 40 and not any(a.inline for a in f.msg.attachments or ()):
        signals.append("HTML that is only a remote image")
    return signals


@rule(AUTO_GENERATED)
def spam_signals(f: Facts) -> str | None:
    """Unmarked spam: two or more independent weak signals (no reverse DNS at our receiving hop, a
    forged webmail HELO, no Message-ID, an Outlook Express/FoxMail X-Mailer, remote-image-only HTML)."""
    signals = _spam_signals(f)
    return "spam signals: " + ", ".join(signals) if len(signals) >= 2 else None


@rule(AUTO_GENERATED)
def empty_from(f: Facts) -> str | None:
    """From: <> (an explicitly empty address) is not a person's mail client; a bounce that has it
    is caught by the bounce rules first."""
    return "From has an empty address <>" if re.search(r"<\s*>", f.header("from")) else None


# --------------------------------------------------------------------------------------------------
# The table, in evaluation order. A new check is one function above and one line here.

RULES: tuple[Rule, ...] = (
    delivery_status_report,
    x_failed_recipients,
    daemon_sender,
    bounce_subject,
    bounce_text,
    auto_submitted_replied,
    autoreply_header,
    precedence_auto_reply,
    auto_reply_subject,
    self_declared_auto_reply,
    out_of_office_text,
    out_of_office_letter,
    challenge_response,
    auto_submitted_generated,
    precedence_bulk,
    mailing_list,
    feedback_report,
    dmarc_report,
    read_receipt,
    noreply_sender,
    system_sender,
    bulk_envelope,
    bulk_mailer,
    notification_system,
    unsubscribe_footer,
    do_not_reply_text,
    spam_verdict,
    spam_signals,
    empty_from,
)


# --------------------------------------------------------------------------------------------------
# Delay warnings: a bounce that says the mail is still queued, not lost.

_ACTION = re.compile(r"^\s*action\s*:\s*([a-z]+)", re.I | re.M)
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
    for part in _own_parts(msg):
        if content_type(part) in _DSN_PARTS:
            actions += [a.lower() for a in _ACTION.findall(_part_text(part))]
    return actions


def _delay_reason(f: Facts) -> str | None:
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
    return f"body says {_said(m)} (a delay warning)" if m else None


# --------------------------------------------------------------------------------------------------
# The engine.


def classify(msg: ParsedMessage) -> Verdict:
    """Run every rule; the strongest kind that fired wins, every reason is kept."""
    facts = Facts.of(msg)
    fired: dict[str, list[str]] = {kind: [] for kind in _PRECEDENCE}
    for each in RULES:
        try:
            reason = each(facts)
        except Exception:  # one broken rule must not stop intake nor silence the others
            log.warning("automated-mail rule %s failed", each.name, exc_info=True)
            continue
        if reason:
            fired[each.kind].append(reason)
    kind = next((k for k in _PRECEDENCE if fired[k]), None)
    if kind is None:
        return Verdict(None, ())
    reasons = tuple(r for k in _PRECEDENCE for r in fired[k])
    if kind == BOUNCE:
        why = _delay_reason(facts)
        if why:
            return Verdict(kind, (*reasons, why), delay=True)
    return Verdict(kind, reasons)


# --------------------------------------------------------------------------------------------------
# What intake needs from a bounce.


# A delivery-status part is read by classify (its Action fields), by bounced_recipients and by
# original_message_id, and each of those classifies again: re-serialising its blocks (as_string folds
# every header through email.header) was a fifth of the work on a bounce. The text is remembered per
# part object, so it lives and dies with that one message's tree.
_part_texts: weakref.WeakKeyDictionary[Message, str] = weakref.WeakKeyDictionary()


def _part_text(part: Message) -> str:
    """A part's content as text, whatever the parser made of it (message/* payloads are lists)."""
    known = _part_texts.get(part)
    if known is None:
        known = _part_texts[part] = _read_part_text(part)
    return known


def _read_part_text(part: Message) -> str:
    try:
        payload = part.get_payload()
        if isinstance(payload, list):
            return "\n\n".join(p.as_string() if isinstance(p, Message) else str(p) for p in payload)
        raw = part.get_payload(decode=True)
        if isinstance(raw, bytes):
            return raw.decode(part.get_content_charset() or "utf-8", "replace")
        return str(payload or "")
    except Exception:
        return ""


_ADDR = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
_RECIPIENT_FIELD = re.compile(
    r"^\s*(final|original)-recipient\s*:\s*(?:[\w.-]+\s*;)?\s*<?(" + _ADDR + r")>?", re.I | re.M
)
_TEXT_FAILED = (
    # Postfix, qmail, Courier: "<addr>: host ... said: 550 ..." at the start of a line.
    re.compile(
        r"^\s*<(" + _ADDR + r")>:?\s*(?:$|[^\n]{0,200}\b(?:unknown|said|rejected|failed|not|no\s+such|"
        r"quota|full|\d\.\d\.\d|5\d\d))",
        re.I | re.M,
    ),
    # Exim "The following address(es) failed:", Gmail "Delivery to the following recipient failed
    # permanently:", sendmail "had permanent fatal errors", Exchange "Delivery has failed to these
    # recipients or groups:": the addresses on the next few lines.
    re.compile(
        r"(?:following\s+address(?:\(es\)|es)?\s+failed|following\s+recipients?\s+failed|permanent\s+fatal\s+errors|"
        r"failed\s+to\s+these\s+recipients(?:\s+or\s+groups)?|could\s+not\s+be\s+delivered\s+to(?:\s+the\s+following)?|"
        r"following\s+recipients?\s+(?:could\s+not|was\s+not|were\s+not))[^\n]*\n((?:[^\n]*\n){0,4})",
        re.I,
    ),
    # "User some.name (addr) not listed", "addr: User unknown", "addr ... does not exist".
    re.compile(
        r"\b(" + _ADDR + r")\)?\s*(?:[:.]\s*|\s+)(?:user\s+unknown|not\s+listed|does\s+not\s+exist|"
        r"no\s+such\s+user|mailbox\s+(?:unavailable|full|not\s+found)|unknown\s+user|recipient\s+rejected)",
        re.I,
    ),
)
_RETURNED_START = re.compile(
    r"^(?:-{2,}\s*(?:original\s+message|this\s+is\s+a\s+copy|below\s+this\s+line|returned\s+message|"
    r"unsent\s+message)|.*(?:original\s+message\s+follows|message\s+headers\s+follow|copy\s+of\s+the\s+message))",
    re.I | re.M,
)


def _returned_cut(text: str) -> str:
    """A bounce's own explanation, without the copy of our message it carries (whose To: is ours)."""
    m = _RETURNED_START.search(text)
    return text[: m.start()] if m else text


def bounced_recipients(msg: ParsedMessage, *, verdict: Verdict | None = None) -> list[str]:
    """The addresses a bounce says could not be reached, lower case, in order, without repeats.

    From the delivery-status parts (Final-/Original-Recipient of each block whose Action is not
    delayed, delivered, relayed or expanded: a delay is not a failure), X-Failed-Recipients, and
    the usual text forms of non-standard bounces. Empty when the message is not a final bounce.
    A caller that has already classified `msg` may pass that verdict, so it is not worked out again.
    """
    try:
        return _bounced_recipients(msg, verdict)
    except Exception:
        log.warning("bounced_recipients failed", exc_info=True)
        return []


def _bounced_recipients(msg: ParsedMessage, verdict: Verdict | None) -> list[str]:
    found: list[str] = []

    def add(addr: str) -> None:
        addr = addr.strip().strip("<>").lower()
        if "@" in addr and addr not in found:
            found.append(addr)

    for part in _own_parts(msg):
        if content_type(part) not in _DSN_PARTS:
            continue
        for block in re.split(r"\n\s*\n", _part_text(part)):
            action = _ACTION.search(block)
            if action and action.group(1).lower() in ("delayed", "delivered", "relayed", "expanded"):
                continue
            fields = {kind.lower(): addr for kind, addr in _RECIPIENT_FIELD.findall(block)}
            if fields:
                add(fields.get("final") or fields["original"])
    for _, addr in getaddresses([(msg.headers or {}).get("x-failed-recipients", "")]):
        add(addr)
    if found:
        return found
    if verdict is None:
        verdict = classify(msg)
    if verdict.kind != BOUNCE or verdict.delay:
        return []
    ours = {a.email.lower() for a in msg.to or [] if a and a.email}
    text = _returned_cut((msg.text or "")[:_BOUNCE_TEXT_LIMIT])
    for pattern in _TEXT_FAILED:
        for m in pattern.finditer(text):
            for addr in re.findall(_ADDR, m.group(1)):
                if addr.lower() not in ours:
                    add(addr)
        if found:
            break
    return found


_MESSAGE_ID = re.compile(r"^message-id\s*:\s*<?([^>\s]+)>?", re.I | re.M)


def original_message_id(msg: ParsedMessage, *, verdict: Verdict | None = None) -> str | None:
    """The Message-ID (without angle brackets) of the mail that bounced, so intake can find its case.

    From the returned message/rfc822 or text/rfc822-headers part, then a copy of the headers in
    the bounce text, then In-Reply-To / References (many MTAs and most auto-replies set them).
    A caller that has already classified `msg` may pass that verdict, so it is not worked out again.
    """
    try:
        return _original_message_id(msg, verdict)
    except Exception:
        log.warning("original_message_id failed", exc_info=True)
        return None


def _clean_id(value: object) -> str:
    return str(value or "").strip().strip("<>").strip()


def _original_message_id(msg: ParsedMessage, verdict: Verdict | None) -> str | None:
    own = msg.message_id
    for part in _own_parts(msg):
        ctype = content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            mid = _clean_id(inner.get("message-id")) if isinstance(inner, Message) else ""
            if not mid:
                m = _MESSAGE_ID.search(_part_text(part))
                mid = m.group(1) if m else ""
            if mid and mid != own:
                return mid
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
            mid = _clean_id(HeaderParser().parsestr(_part_text(part)).get("message-id"))
            if mid and mid != own:
                return mid
    if (verdict if verdict is not None else classify(msg)).kind is not None:
        m = _MESSAGE_ID.search((msg.text or "")[:_BOUNCE_TEXT_LIMIT])
        if m and m.group(1) != own:
            return m.group(1)
    if msg.in_reply_to:
        return msg.in_reply_to[0]
    if msg.references:
        return msg.references[-1]
    return None
