"""Auto-replies told by their words: out-of-office and vacation subjects and letters, the
autoresponder that says it is one, automatic acknowledgements, challenge-response systems.

A person can write every one of these sentences ("I am out of the office until Monday but wanted
to send the form"), so a rule here needs a second, independent sign before it counts: an anchored
subject, a machine envelope, or the whole shape of an out-of-office letter. A subject that starts
"Re:" is a person answering one of these.
"""

from __future__ import annotations

import re

from inbox.classify.facts import Facts, said
from inbox.classify.headers import auto_submitted
from inbox.classify.rule import AUTO_REPLY, rule
from inbox.classify.senders import is_noreply
from inbox.gated import Gated
from inbox.mailtext import REPLY_SUBJECT

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
_SELF_DECLARED = Gated(
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
    return f"body says {said(m)}" if m else None


# The out-of-office and acknowledgement sentences. A person can write them too ("I am out of
# the office until Monday but wanted to send the form"), so they count only with a machine envelope.
_AWAY_TEXT = Gated(
    re.compile(
        # Each branch's first character, so that the engine leaves every other position at once.
        rf"""(?=[aiotw])(?:
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
    keyword = auto_submitted(f)
    if keyword and keyword != "no":  # some out-of-office systems say auto-generated
        return f"Auto-Submitted: {keyword}"
    if f.sender_local and is_noreply(f.sender_local):  # automatic acknowledgements
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
    return f"{envelope} and the text says {said(m)}" if m else None


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
_OOO_LETTER_MAX = 700


@rule(AUTO_REPLY)
def out_of_office_letter(f: Facts) -> str | None:
    """An out-of-office reply without any marking header: an answer to a message, under 700
    characters, saying "I am away/on leave until ...", with at least two further hallmarks (opens
    with "Thank you for your email", limited access to email, "if urgent", "on my return", "will
    not be forwarded"). A person's real answer carries its own content and rarely all of these."""
    if not (f.msg.in_reply_to or f.msg.references or REPLY_SUBJECT.match(f.subject)):
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
    return f"out-of-office letter: {said(away, 50)} ({', '.join(marks)})"


_CHALLENGE = Gated(
    re.compile(
        # Each branch's first character, so that the engine leaves every other position at once.
        r"""(?=[acehpstvy])(?:
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
    return f"challenge-response: {said(m)}" if m else None
