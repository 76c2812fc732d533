"""The words that ask something of us by SMS, as carriers and Twilio read them: the whole text, one word,
any case. STOP and its synonyms put the number on the suppression ledger at once; START and UNSTOP lift
it; HELP gets the office's contact details."""

from __future__ import annotations

import re

STOP, START, HELP = "stop", "start", "help"
KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), STOP),
    **dict.fromkeys(("START", "UNSTOP"), START),
    **dict.fromkeys(("HELP", "INFO"), HELP),
}


def keyword_of(body: str) -> str | None:
    word = re.sub(r"[\s.!]+", "", body or "").upper()
    return KEYWORDS.get(word)
