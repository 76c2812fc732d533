"""Patterns of mail text that several readers share: addresses written in text, the prefixes of a
reply's or a forward's subject, the lines that start a forwarded or quoted message, and sign-offs.

One copy each, so the parser, the reply splitter, thread matching, extraction and the classifier agree
on what a "Fwd:" subject or a "Kind regards," line is. Each is a pattern *fragment* (a string) where
callers embed it in larger patterns, and a compiled pattern where they use it as it is.
"""

from __future__ import annotations

import re

# --- e-mail addresses ---------------------------------------------------------------------------------
# The local part takes every character RFC 5322 allows in an atom ("o'brien", "a+b", "x=y").
_LOCAL_PART = r"[\w.!#$%&'*+/=?^`{|}~-]+"
_DOMAIN_LABEL = r"[\w-]+"
# An address written in running text: its domain has a dot ("see jo@example.org.").
EMAIL_IN_TEXT = re.compile(rf"{_LOCAL_PART}@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+")
# An address picked out of a header that did not parse: there "root@localhost" is an address too.
EMAIL_IN_HEADER = re.compile(rf"{_LOCAL_PART}@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*")

# --- subject prefixes -----------------------------------------------------------------------------------
# "Re:" in the languages our senders' mail programs use (German "AW", Nordic "SV", Dutch "Antw",
# Finnish "VS", Italian "R").
REPLY_PREFIX_WORDS = r"re|aw|sv|antw|vs|r"
# "Fwd:" likewise (German "WG", French "TR", Spanish "RV"/"ENC", Dutch "Doorst", Czech "PŘEP", ...).
FORWARD_PREFIX_WORDS = r"fwd?|fw|wg|w|tr|rv|enc|i|vs|vb|vl|doorst|pd|přep|rif|trs|továbbítás"
# A subject that answers a message: "Re: ...", "AW: ..." (only the first prefix is looked at).
REPLY_SUBJECT = re.compile(rf"^\s*(?:{REPLY_PREFIX_WORDS})\s*[:：]", re.IGNORECASE)
# A subject that forwards one, after any "[tag]" a list or a filter put in front: "[EXT] Fwd: ...".
FORWARD_SUBJECT = re.compile(rf"^\s*(?:\[[^\]]{{0,80}}\]\s*)*(?:{FORWARD_PREFIX_WORDS})\s*\.?\s*[:：]", re.IGNORECASE)

# --- quote and forward markers -------------------------------------------------------------------------
FORWARDED_WORDS = (
    r"forwarded message|forwarded e-?mail|weitergeleitete nachricht|message transf[ée]r[ée]"
    r"|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|videresendt (?:meddelelse|melding)"
    r"|vidarebefordrat meddelande|wiadomo[śs][ćc] przekazana|p[řr]eposlan[áa] zpr[áa]va"
    r"|mensagem encaminhada|välitetty viesti|пересылаемое сообщение"
)
ORIGINAL_WORDS = (
    r"original message|original e-?mail message|original[- ]?nachricht|urspr[üu]ngliche nachricht"
    r"|original[- ]?e-?mail|message d'origine|message original|mensaje original|messaggio originale"
    r"|oorspronkelijk bericht"
    r"|oprindelig meddelelse|opprinnelig melding|ursprungligt meddelande|oryginalna wiadomo[śs][ćc]"
    r"|p[ůu]vodn[íi] zpr[áa]va|mensagem original|alkuper[äa]inen viesti|исходное сообщение"
)
# Apple Mail and iOS: "Begin forwarded message:" (and its translations), no dashes.
BEGIN_FORWARD_WORDS = (
    r"begin forwarded message|anfang der weitergeleiteten nachricht|d[ée]but du message r[ée]exp[ée]di[ée]"
    r"|inicio del mensaje reenviado|inizio messaggio inoltrato|begin doorgestuurd bericht"
    r"|start på videresendt (?:besked|melding)|vidarebefordrat brev"
)
# One stripped line: "---------- Forwarded message ---------", "-----Original Message-----".
SEPARATOR_LINE = re.compile(
    rf"^[-=_*\s]{{2,}}\s*(?:(?P<fwd>{FORWARDED_WORDS})|(?P<orig>{ORIGINAL_WORDS}))\s*[-=_*\s]{{2,}}$",
    re.IGNORECASE,
)
BEGIN_FORWARD_LINE = re.compile(rf"^(?:{BEGIN_FORWARD_WORDS})\s*:$", re.IGNORECASE)
# Either of them anywhere in a text, also behind "> " quote marks: where a forwarded or quoted copy starts.
FORWARD_MARKER = re.compile(
    rf"(?im)^[ >]*(?:[-=_*]{{2,}} ?(?:{FORWARDED_WORDS}|{ORIGINAL_WORDS}) ?[-=_*]{{2,}}|(?:{BEGIN_FORWARD_WORDS}):)"
)

# --- sign-offs -------------------------------------------------------------------------------------------
# The words of a line that closes a letter ("Kind regards,", "Many thanks", "Diolch"): what follows is
# the writer's name, title and numbers. Callers anchor it to a whole line.
SIGN_OFF_WORDS = (
    r"(?:with )?(?:kind(?:est)?|best|warm(?:est)?|many|sincere)? ?(?:regards|wishes|thanks)"
    r"|thanks(?: again| in advance| so much| very much)?|thank you(?: again| in advance| so much)?"
    r"|many thanks|all the best|best|cheers|yours (?:sincerely|faithfully|truly)|sincerely|respectfully"
    r"|take care|speak soon|with thanks|love|thx|ta|diolch"
)
