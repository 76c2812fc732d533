"""Reports and receipts other systems send about mail: ARF abuse and DMARC failure reports
(RFC 5965), DMARC aggregate reports (RFC 7489), read receipts (RFC 8098 MDNs, Outlook's "Read:")."""

from __future__ import annotations

import re

from inbox.classify.facts import Facts
from inbox.classify.rule import AUTO_GENERATED, rule


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
