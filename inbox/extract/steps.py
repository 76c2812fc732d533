"""The step table: which readers run, in which order, and what each needs from the ones before.

Order matters only where a step says so in `needs` (the role decides whose phone number and name count;
the dispute topics decide a service and whether a plan exists; the child's name picks among siblings'
dates of birth); `check_table` fails at import when the order breaks a need. The table is data: a test
or a new channel may run a copy with a step added or removed.
"""

from __future__ import annotations

from inbox.extract.access import extract_access_needs
from inbox.extract.child import extract_child
from inbox.extract.context import Context
from inbox.extract.council import extract_local_authority
from inbox.extract.date_fields import extract_decision_date, extract_dob
from inbox.extract.phone import extract_phone
from inbox.extract.plan import extract_has_ehc_plan, extract_topics
from inbox.extract.referrer import extract_referrer
from inbox.extract.role import extract_role
from inbox.extract.school import extract_school
from inbox.extract.service import extract_service
from inbox.extract.step import Filled, Step, check_table, one
from inbox.referral import Referral


def _role(ctx: Context, got: Referral) -> Filled:
    return one("referrer_role", *extract_role(ctx))


def _referrer(ctx: Context, got: Referral) -> Filled:
    name, email, evidence = extract_referrer(ctx)
    return Filled({"referrer_name": name, "referrer_email": email}, evidence)


def _council(ctx: Context, got: Referral) -> Filled:
    la, evidence = extract_local_authority(ctx)
    if la is None:
        return Filled()
    region = la.region if la.served else None
    return Filled(
        {"local_authority": la.name, "served": la.served, "region": region},
        {"local_authority": evidence} if evidence is not None else {},
    )


def _topics(ctx: Context, got: Referral) -> Filled:
    topics, evidence = extract_topics(ctx)
    return Filled({"dispute_topics": topics}, evidence)


def _service(ctx: Context, got: Referral) -> Filled:
    return one("service", *extract_service(ctx, got.dispute_topics))


def _phone(ctx: Context, got: Referral) -> Filled:
    return one("contact_phone", *extract_phone(ctx, got.referrer_role))


def _child(ctx: Context, got: Referral) -> Filled:
    return one("child_name", *extract_child(ctx, got.referrer_role))


def _dob(ctx: Context, got: Referral) -> Filled:
    return one("child_dob", *extract_dob(ctx, got.evidence.get("child_name")))


def _decision(ctx: Context, got: Referral) -> Filled:
    return one("decision_date", *extract_decision_date(ctx))


def _school(ctx: Context, got: Referral) -> Filled:
    return one("school", *extract_school(ctx))


def _plan(ctx: Context, got: Referral) -> Filled:
    return one("has_ehc_plan", *extract_has_ehc_plan(ctx, got.evidence))


def _access(ctx: Context, got: Referral) -> Filled:
    needs, evidence = extract_access_needs(ctx)
    return Filled({"access_needs": needs}, evidence)


STEPS: tuple[Step, ...] = (
    Step("referrer_role", ("referrer_role",), _role),
    Step("referrer", ("referrer_name", "referrer_email"), _referrer),
    Step("local_authority", ("local_authority", "served", "region"), _council),
    Step("dispute_topics", ("dispute_topics",), _topics),
    Step("service", ("service",), _service, needs=("dispute_topics",)),
    Step("contact_phone", ("contact_phone",), _phone, needs=("referrer_role",)),
    Step("child_name", ("child_name",), _child, needs=("referrer_role",)),
    Step("child_dob", ("child_dob",), _dob, needs=("child_name",)),
    Step("decision_date", ("decision_date",), _decision),
    Step("school", ("school",), _school),
    Step("has_ehc_plan", ("has_ehc_plan",), _plan, needs=("dispute_topics",)),
    Step("access_needs", ("access_needs",), _access),
)
check_table(STEPS)
