"""The periodic jobs the daemon's APScheduler runs, and their misfire policies.

    job                 where          when                        misfire policy
    outbox-dispatch     every node     every 2 s                   coalesce; run however late (a late round still sends)
    leadership          every node     every 10 s                  coalesce; run however late
    reminder-planning   leader only    every 10 min                coalesce; run however late (idempotent)
    deadline-scan       leader only    every 5 min                 coalesce; run however late (alerts keyed per case);
                                                                   writes a digest missed at 08:00 within 4 h
    deadline-digest     leader only    daily at MDESK_DIGEST_TIME  coalesce; within 4 h, else skipped (the next
                                       (08:00) in MDESK_TIMEZONE   day's digest says the same, and a digest at
                                                                   17:00 helps nobody)

Every job writes outbox rows keyed by what they are about (session and offset, office and day, case and
due date), so a job run twice (two nodes in a leadership hand-over, a restart) writes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine

from models.case_clock import enqueue_certificate_alerts, enqueue_digests
from models.db import session_scope
from models.session_ops import plan_upcoming_reminders
from models.settings import Settings
from models.types import utcnow
from models.workdays import WorkingDayCalendar
from scheduler.leadership import CHECK_SECONDS, Leadership

log = logging.getLogger(__name__)

PLANNING_SECONDS = 600
SCAN_SECONDS = 300
DIGEST_GRACE_SECONDS = 4 * 3600


def plan_reminders_job(
    engine: Engine, settings: Settings, calendar: WorkingDayCalendar, now: datetime | None = None
) -> int:
    with session_scope(engine) as db:
        return plan_upcoming_reminders(db, settings, calendar, now=now or utcnow())


def deadline_scan_job(
    engine: Engine, settings: Settings, calendar: WorkingDayCalendar, now: datetime | None = None
) -> int:
    """Certificate alerts; and today's digest if it is due and was not written (the daemon was down at
    08:00, or leadership changed hands): its key makes it once a day whoever writes it."""
    now = now or utcnow()
    with session_scope(engine) as db:
        written = len(enqueue_certificate_alerts(db, calendar, now=now))
    if in_digest_window(now, settings):
        written += digest_job(engine, calendar, now)
    return written


def in_digest_window(now: datetime, settings: Settings) -> bool:
    local = now.astimezone(settings.zone)
    opens = datetime.combine(local.date(), settings.digest_at, tzinfo=settings.zone)
    return opens <= local < opens + timedelta(seconds=DIGEST_GRACE_SECONDS)


def digest_job(engine: Engine, calendar: WorkingDayCalendar, now: datetime | None = None) -> int:
    with session_scope(engine) as db:
        return len(enqueue_digests(db, calendar, now=now or utcnow()))


def add_jobs(
    scheduler: BaseScheduler,
    *,
    engine: Engine,
    settings: Settings,
    leadership: Leadership,
    guard: Callable[[str, Callable[[], object]], None],
) -> None:
    """The leader-only jobs and the leadership check. `guard(name, job)` runs a job at the daemon's
    boundary (a failure logged, the next run tried again)."""
    calendar = WorkingDayCalendar(tz=settings.zone)

    def leader_only(name: str, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            if leadership.is_leader:
                guard(name, job)

        return run

    now = utcnow()
    scheduler.add_job(
        leadership.check,
        "interval",
        seconds=CHECK_SECONDS,
        id="leadership",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=now,
    )
    scheduler.add_job(
        leader_only("reminder planning", lambda: plan_reminders_job(engine, settings, calendar)),
        "interval",
        seconds=PLANNING_SECONDS,
        id="reminder-planning",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        leader_only("deadline scan", lambda: deadline_scan_job(engine, settings, calendar)),
        "interval",
        seconds=SCAN_SECONDS,
        id="deadline-scan",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    at = settings.digest_at
    scheduler.add_job(
        leader_only("deadline digest", lambda: digest_job(engine, calendar)),
        "cron",
        hour=at.hour,
        minute=at.minute,
        timezone=settings.zone,
        id="deadline-digest",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=DIGEST_GRACE_SECONDS,
    )
