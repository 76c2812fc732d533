"""The desk in a real browser: Debian's Chromium driven by Playwright against the daemon (`main.py run`)
over loopback, reading a real IMAP server (Dovecot).

A referral appended to the mailbox appears in the open inbox without a reload; a hostile email renders
inert (no script runs, no handler fires, no javascript: link, no CSS overlay or hidden text, no request
leaves for a remote image); axe-core finds no serious or critical violation on the inbox, case, reports,
filtered-mail and mediators pages (a mediator is added through its form). Screenshots are saved in
tests/screenshots/ (docs/ keeps one of each).

axe-core comes from npm into tests/.node (`.ci/run` installs it); without it the accessibility check
skips and says why. No browser is ever downloaded: /usr/bin/chromium (Debian) or the tests skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import mailfactory
from tests.cli import run_main
from tests.conftest import REPO
from tests.desk import PASSWORD, hostile_referral
from tests.webserver import free_port

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "tests" / ".node" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "tests" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


@pytest.fixture
def desk(imap_account, tmp_path) -> Iterator[str]:
    """The daemon reading the test mailbox, with an admin account; its web address."""
    port = free_port()
    env = {
        "MDESK_VAR_DIR": str(tmp_path / "var"),
        "MDESK_IMAP_HOST": imap_account.host,
        "MDESK_IMAP_PORT": str(imap_account.port),
        "MDESK_IMAP_USER": imap_account.user,
        "MDESK_IMAP_PASSWORD": imap_account.password,
        "MDESK_IMAP_SECURITY": "none",
        "MDESK_MAIL_FROM": "referrals@mediation-desk.example.org",
        "MDESK_HTTP_PORT": str(port),
        "MDESK_COOKIE_SECURE": "false",  # plain http on loopback
    }
    added = run_main(
        "user", "add", "cora@example.org", "--name", "Cora Ordinator", "--role", "admin", "--office", "london",
        "--password-stdin", settings=env, input_text=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    process_env = {k: v for k, v in os.environ.items() if not k.startswith("MDESK_")} | env
    log = (tmp_path / "daemon.log").open("ab")
    proc = subprocess.Popen([sys.executable, "main.py", "run"], cwd=REPO, env=process_env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError("the daemon did not start: " + (tmp_path / "daemon.log").read_text()[-2000:])
            time.sleep(0.1)
        yield base
    finally:
        proc.kill()
        proc.wait()
        log.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A page whose every request, dialog and page error is recorded."""

    def __init__(self, browser, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.base = base
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.set_default_timeout(20_000)

    def sign_in(self) -> None:
        page = self.page
        page.goto(f"{self.base}/inbox")
        assert "/login" in page.url
        page.get_by_label("Email address").fill("cora@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{self.base}/inbox")

    def outside(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(self.base)]


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def serious_violations(page) -> list[str]:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (npm install --prefix tests/.node axe-core)")
    # Evaluated through the DevTools protocol, so the page's own CSP (script-src 'self') stays in force.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_referral_appears_without_reload_and_its_case_can_be_worked(desk, browser, imap_account):
    w = Watched(browser, desk)
    page = w.page
    w.sign_in()
    page.evaluate("window.__sameDocument = true")
    imap_account.append(mailfactory.referral())
    imap_account.append(
        mailfactory.referral(
            sender="Priya Shah <priya.shah@example.com>",
            subject="Request for a mediation certificate",
            body="Hello,\n\nI would like a mediation certificate please. My son Arjun Shah has an EHC plan "
            "from Barnet.\n\nPriya Shah\n07700 900 321\n",
        )
    )
    row = page.locator("table.work tbody tr", has_text="Elliot Pryce")
    row.wait_for()  # the inbox polls: no reload
    assert page.evaluate("window.__sameDocument") is True
    page.locator("table.work tbody tr", has_text="Arjun Shah").wait_for()
    assert page.locator("#live").inner_text().strip() != ""
    assert serious_violations(page) == []
    shoot(page, "inbox")

    row.get_by_role("link").click()
    page.get_by_role("heading", level=1).wait_for()
    assert "Elliot Pryce" in page.content()
    page.locator("#referral details", has_text="Edit Local authority").locator("summary").click()
    page.locator("#f-local_authority").fill("Islington")
    page.locator("#referral form", has=page.locator("#f-local_authority")).get_by_role("button", name="Save").click()
    page.get_by_text("Local authority set to Islington").wait_for()
    page.get_by_label("Change status").select_option("triaged")
    page.get_by_role("button", name="Change status").click()
    page.get_by_text("Status: New → Triaged").wait_for()
    page.get_by_label("Add a note").fill("Spoke to Joanne; she prefers afternoons.")
    page.get_by_role("button", name="Add note").click()
    page.get_by_text("Spoke to Joanne; she prefers afternoons.").wait_for()
    assert serious_violations(page) == []
    shoot(page, "case")

    page.get_by_role("link", name="Reports").click()
    page.get_by_role("heading", name="Referrals per month").wait_for()
    assert "Islington" in page.content()  # the corrected LA is what the report counts
    assert serious_violations(page) == []
    shoot(page, "reports")

    page.get_by_role("link", name="Mediators").click()
    page.get_by_label("Name").fill("Alex Mediator")
    page.get_by_label("Mobile (reminders go here)").fill("07700 900456")
    page.get_by_label("Email (invitations go here)").fill("alex@example.org")
    page.get_by_label("London office").check()
    page.get_by_role("button", name="Add mediator").click()
    page.get_by_text("Alex Mediator's private calendar feed").wait_for()
    assert page.get_by_role("link", name="Alex Mediator").is_visible()
    assert serious_violations(page) == []
    assert w.outside() == [] and w.dialogs == [] and w.errors == []


def test_hostile_email_renders_inert(desk, browser, imap_account):
    imap_account.append(hostile_referral())
    w = Watched(browser, desk)
    page = w.page
    w.sign_in()
    page.locator("table.work tbody tr", has_text="Maya").get_by_role("link").click()
    email = page.locator(".email-html")
    email.get_by_text("Maya Okafor").wait_for()
    link = email.get_by_text("Click to see her plan")
    assert link.get_attribute("href") is None
    link.click()
    overlay = email.get_by_text("FAKE OVERLAY TEXT")
    assert overlay.evaluate("e => getComputedStyle(e).position") != "fixed"
    assert email.get_by_text("HIDDEN TEXT").is_visible()  # what the sender hid is shown
    heading = page.get_by_role("heading", level=1)
    assert heading.is_visible()
    heading.scroll_into_view_if_needed()  # the link's click scrolled to the email, below the sessions
    box = heading.bounding_box()
    top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('h1') !== null", [box["x"] + 5, box["y"] + 5]
    )
    assert top, "something covers the page's heading"
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".email-html script, .email-html img, .email-html style").count() == 0
    assert w.dialogs == []
    assert [u for u in w.requests if "tracker.invalid" in u] == []
    assert w.outside() == []
    page.get_by_text("Earlier messages (quoted)").first.wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="plan.html").click()
    assert download.value.suggested_filename == "plan.html"
    assert page.evaluate("window.__pwned") is None
    page.goto(f"{desk}/filtered")
    assert serious_violations(page) == []
    shoot(page, "filtered")


def test_two_cases_of_one_family_are_merged_from_the_case_page_by_keyboard(desk, browser, imap_account):
    from playwright.sync_api import expect

    imap_account.append(mailfactory.referral())
    imap_account.append(
        mailfactory.referral(sender="Mr Hale <senco@school.example.org>", subject="Referral for Elliot Pryce")
    )
    w = Watched(browser, desk)
    page = w.page
    w.sign_in()
    rows = page.locator("table.work tbody tr", has_text="Elliot Pryce")
    expect(rows).to_have_count(2)
    here, other = (rows.nth(i).get_by_role("link").first.get_attribute("href").rsplit("/", 1)[1] for i in range(2))
    page.goto(f"{desk}/cases/{here}")
    page.get_by_label("Merge with another case").fill(other)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Merge two cases").wait_for()
    assert serious_violations(page) == []
    shoot(page, "merge")
    button = page.get_by_role("button", name=re.compile(r"^Merge MD-"))
    merged, survivor = re.fullmatch(r"Merge (\S+) into (\S+)", button.inner_text().strip()).groups()
    assert {merged, survivor} == {here, other}
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{desk}/cases/{survivor}#timeline")
    page.get_by_text(f"Merged into this case: {merged}").wait_for()
    page.goto(f"{desk}/cases/{merged}")  # the old reference leads to the survivor
    page.wait_for_url(f"{desk}/cases/{survivor}")
    assert w.outside() == [] and w.dialogs == [] and w.errors == []
