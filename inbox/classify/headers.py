"""What the headers say: RFC 3834 Auto-Submitted, Precedence, the autoresponders' X-Autoreply
family, list headers (RFC 2369/2919) and the marks of ticket and alert systems.

`Auto-Submitted: no` is what a person's client may send explicitly (RFC 3834 5.1): nothing fires
on it.
"""

from __future__ import annotations

from inbox.classify.facts import Facts
from inbox.classify.rule import AUTO_GENERATED, AUTO_REPLY, rule
from inbox.classify.senders import form_submission


def auto_submitted(f: Facts) -> str:
    """The Auto-Submitted keyword (RFC 3834 5.1), lower case, parameters dropped; "" when absent."""
    return f.header("auto-submitted").split(";", 1)[0].strip().lower()


@rule(AUTO_REPLY)
def auto_submitted_replied(f: Facts) -> str | None:
    """RFC 3834 Auto-Submitted: auto-replied (and RFC 5436 auto-notified)."""
    keyword = auto_submitted(f)
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


@rule(AUTO_GENERATED)
def auto_submitted_generated(f: Facts) -> str | None:
    """RFC 3834: any Auto-Submitted value other than "no" means no person sent it - except a web
    form's notification relaying a person's enquiry (the person wrote it; we answer them, not it)."""
    keyword = auto_submitted(f)
    if keyword and keyword != "no" and not keyword.startswith(("auto-replied", "auto-notified")):
        if form_submission(f):
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
