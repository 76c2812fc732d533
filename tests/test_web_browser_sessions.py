"""A session worked end to end in a real browser (Debian's Chromium, Playwright) against the daemon over
loopback: open a referral's case, book a session, see its reminders planned, record the outcome once it
has been held, and see the report change; axe-core finds no serious or critical violation on the case
and report pages with their sessions sections. The daemon and browser fixtures are test_web_browser's."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import create_engine, update
from sqlmodel import Session

from models.cases import Case
from models.sessions import MediationSession
from models.types import utcnow
from models.workdays import LONDON
from tests import mailfactory
from tests.cli import run_main
from tests.test_web_browser import Watched, browser, desk, serious_violations, shoot  # noqa: F401


def local_input(days: int, hour: int) -> str:
    day = (datetime.now(LONDON) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:00"


def test_book_a_session_see_its_reminders_record_the_outcome_and_the_report_changes(
    desk,  # noqa: F811
    browser,  # noqa: F811
    imap_account,
    tmp_path,
):
    var = tmp_path / "var"  # the daemon's (test_web_browser.desk): its database is var/mdesk.sqlite3
    added = run_main(
        "mediators", "add", "--name", "Alex Mediator", "--mobile", "+447700900456", "--email", "alex@example.org",
        settings={"MDESK_VAR_DIR": str(var)},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    imap_account.append(mailfactory.referral())
    w = Watched(browser, desk)
    page = w.page
    w.sign_in()

    page.get_by_role("link", name="Reports").click()
    assert page.locator("#sessions-held").inner_text() == "0"
    page.get_by_role("link", name="Inbox").click()
    page.locator("table.work tbody tr", has_text="Elliot Pryce").get_by_role("link").click()
    page.get_by_role("heading", name="Sessions").wait_for()

    page.get_by_text("Book a session").click()  # the form opens
    book = page.locator("#book form")
    book.get_by_label("Start (UK time)").fill(local_input(1, 10))  # tomorrow: under 5 working days' notice
    book.get_by_label("End (UK time)").fill(local_input(1, 12))
    book.get_by_label("Mode").select_option("video")
    book.get_by_label("Video link (by video, https://)").fill("https://meet.example.org/elliot")
    book.get_by_label("Alex Mediator").check()
    book.get_by_role("button", name="Book the session").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Under 5 working days" in alert.inner_text() and "The parties agreed to short notice" in alert.inner_text()

    book = page.locator("#book form")
    book.get_by_label("Start (UK time)").fill(local_input(21, 10))
    book.get_by_label("End (UK time)").fill(local_input(21, 12))
    book.get_by_label("Mode").select_option("video")
    book.get_by_label("Video link (by video, https://)").fill("https://meet.example.org/elliot")
    book.get_by_label("Alex Mediator").check()
    book.get_by_role("button", name="Book the session").click()
    session = page.locator("article.session").first
    session.wait_for()
    reminders = session.locator("table.reminders tbody tr")
    assert reminders.count() == 4  # two offsets each, to the mediator and to the parent's mobile
    assert "+447700900418" in session.inner_text() and "+447700900456" in session.inner_text()
    assert "Pending" in session.inner_text()
    assert page.get_by_text("Session booked:").count() == 1  # on the timeline
    assert serious_violations(page) == []
    shoot(page, "case-sessions")

    # The day comes and the session is held: its start moves into the past.
    engine = create_engine(f"sqlite:///{var / 'mdesk.sqlite3'}")
    with Session(engine) as db:
        start = utcnow() - timedelta(hours=2)
        db.execute(update(MediationSession).values(start_at=start, end_at=start + timedelta(hours=1)))
        db.execute(update(Case).values(created_at=utcnow() - timedelta(days=24)))  # referred 24 days before
        db.commit()
    engine.dispose()
    page.reload()
    page.get_by_label("Outcome").select_option("agreement")
    page.get_by_role("button", name="Record: session held").click()
    page.locator("article.session", has_text="Agreement reached").wait_for()
    assert "Held" in page.locator("article.session").first.inner_text()
    assert serious_violations(page) == []

    page.get_by_role("link", name="Reports").click()
    assert page.locator("#sessions-held").inner_text() == "1"
    assert page.locator("#agreement-rate").inner_text() == "100%"
    assert page.locator("#headline strong").inner_text() == "100%"
    assert "23.9 (1 case)" in page.locator("dl.figures").inner_text()  # median days, referral to session
    assert serious_violations(page) == []
    shoot(page, "reports-sessions")
    assert w.outside() == [] and w.dialogs == [] and w.errors == []
