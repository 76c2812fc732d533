"""The daemon: mailbox intake, the outbox dispatcher (APScheduler 3, in process) and the web app.

Threads: the mailbox watcher (blocking IMAP IDLE or Maildir polling), the APScheduler background
scheduler (outbox dispatch), and uvicorn. The main thread waits for SIGTERM/SIGINT, then drains:
the watcher finishes the message in hand, the scheduler waits for a running dispatch, uvicorn stops.

It never runs on with a part silently dead. The web port is bound before anything starts (a port in
use is one line and exit 1, not a daemon without its web app). Should the watcher or the web app
stop by themselves later, or the SQLite file be deleted or replaced, the daemon logs why, drains the
rest and exits 1 (DaemonError). It does not restart the part itself: a part that died once will
likely die again, and a process supervisor (systemd's Restart=on-failure) restarts the whole daemon
cleanly, counts the restarts and shows them, where an in-process retry loop would hide them.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from inbox.email_channel import EmailChannel
from inbox.intake import Intake
from inbox.sources.base import MailSource
from inbox.sources.imap import ImapSource
from inbox.sources.maildir import MaildirSource
from inbox.text_reading import read_text
from inbox.watch import MailboxWatcher
from models import db
from models.la_directory import load_directory
from models.outbox_channel import Channel
from models.outbox_claims import redact
from models.settings import Settings
from models.types import utcnow
from scheduler.dispatch import Dispatcher
from scheduler.jobs import add_jobs
from scheduler.leadership import Leadership
from telephony.readings import read_waiting_texts
from telephony.recordings import RecordingStore
from telephony.sms_channel import SmsChannel
from telephony.webhook_auth import dev_token_path, webhook_token
from web.app import create_app
from web.health import Health

log = logging.getLogger("mdesk.daemon")

DISPATCH_SECONDS = 2.0
READINGS_SECONDS = 5.0
RECORDINGS_SECONDS = 5.0  # one indexed query when nothing waits
WEB_START_SECONDS = 30.0  # uvicorn on a socket already bound starts in well under a second


class DaemonError(Exception):
    """The daemon cannot start, or cannot go on: one line for the operator, and exit status 1."""


SKIPPED_SHOWN = 20  # file names /healthz lists of the drop folder's skipped entries


def source_from_settings(settings: Settings) -> MailSource:
    if settings.source_kind == "imap":
        return ImapSource.from_settings(settings)
    return MaildirSource(settings.effective_maildir)


@dataclass
class Daemon:
    settings: Settings
    engine: Engine = field(init=False)
    health: Health = field(default_factory=Health)
    stop: threading.Event = field(default_factory=threading.Event)
    failure: str | None = field(default=None, init=False)  # why a part stopped the daemon
    web_server: uvicorn.Server | None = field(default=None, init=False)
    # The outbox's channels by name; None: from the settings (channels_from_settings). Tests and the
    # reminder benchmark give an SMS channel of their own here.
    channels: dict[str, Channel] | None = None

    def __post_init__(self) -> None:
        # The daemon writes: its SQLite file may be created, a missing folder only inside var_dir.
        url = self.settings.effective_database_url
        db.prepare_sqlite_file(url, var_dir=self.settings.var_dir, create=True)
        self.engine = db.make_engine(url)

    def run(self, *, web: bool = True) -> None:
        """Until SIGTERM/SIGINT; raises DaemonError when it cannot start or a part failed."""
        # First of all: a port in use must be the one line said, before anything is started or logged.
        listener = self._bind_web() if web else None
        try:
            self._run(listener)
        finally:
            if listener is not None:
                listener.close()
        if self.failure:
            raise DaemonError(self.failure)

    def _run(self, listener: socket.socket | None) -> None:
        db.upgrade(self.engine)
        self._install_signal_handlers()
        watcher = MailboxWatcher(source_from_settings(self.settings))
        intake = Intake(self.engine, self.settings)
        intake.start()  # the reading workers (settings.intake_workers), the bank holidays
        dispatcher = dispatcher_from_settings(self.engine, self.settings, self.channels)
        leadership = Leadership(self.engine)
        for name in dispatcher.channels:  # listed on /healthz from the start, "unknown" until a round ran
            self.health.channel(name)
        watch_thread = self._part(
            "mailbox watcher",
            watcher.run,
            intake.handle_batch,
            self.stop,
            read_ahead=intake.read_ahead,
        )
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(
            self._dispatch,
            "interval",
            seconds=DISPATCH_SECONDS,
            args=(dispatcher,),
            id="outbox-dispatch",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # a late round still sends what is due
            next_run_time=utcnow(),
        )
        self._telephony_jobs(scheduler)
        add_jobs(scheduler, engine=self.engine, settings=self.settings, leadership=leadership, guard=self._guarded)
        scheduler.add_job(self._retention, "interval", hours=24, id="retention", max_instances=1, coalesce=True)
        server = self.web_server = self._web_server() if listener else None
        web_thread = self._part("web app", server.run, sockets=[listener]) if server else None

        watch_thread.start()
        scheduler.start()
        if web_thread:
            web_thread.start()
        try:
            if server is None or self._web_started(server):
                log.info(
                    "Mediation Desk running: source %s, channels %s, web %s",
                    self.settings.source_kind,
                    ", ".join(f"{c.name} ({c.transport})" for c in dispatcher.channels.values()),
                    f"http://{self.settings.http_host}:{self.settings.http_port}" if server else "off",
                )
            while not self.stop.wait(1.0):
                self._refresh_mailbox_health(watcher)
                self._same_database()
        finally:
            log.info("stopping: draining intake and the outbox")
            watcher_stop = getattr(watcher, "interrupt", None)
            if watcher_stop:
                watcher_stop()
            watch_thread.join(timeout=60)
            intake.close()  # its reading workers (settings.intake_workers), if any
            scheduler.shutdown(wait=True)
            leadership.release()
            if server:
                server.should_exit = True
            if web_thread:
                web_thread.join(timeout=15)
            self.engine.dispose()
            log.info("stopped")

    def _telephony_jobs(self, scheduler: BackgroundScheduler) -> None:
        """Voicemails and SMS read for referral fields; recordings fetched from Twilio (with credentials)."""
        directory = load_directory()

        def reader(text: str) -> dict[str, Any]:
            return read_text(text, directory=directory).to_dict()

        jobs: list[tuple[str, Callable[[], object], float]] = [
            ("telephony-readings", lambda: read_waiting_texts(self.engine, reader), READINGS_SECONDS)
        ]
        if self.settings.twilio_configured:
            store = RecordingStore(self.engine, self.settings)
            jobs.append(("telephony-recordings", store.run, RECORDINGS_SECONDS))
        else:
            log.warning(
                "Twilio not configured (MDESK_TWILIO_ACCOUNT_SID, MDESK_TWILIO_AUTH_TOKEN): SMS go to the console; "
                "webhooks are checked against the development token %s (in %s)",
                webhook_token(self.settings),
                dev_token_path(self.settings),
            )
        for job_id, job, seconds in jobs:
            scheduler.add_job(
                self._guarded_job, "interval", seconds=seconds, args=(job_id, job), id=job_id, max_instances=1,
                coalesce=True, next_run_time=utcnow(),
            )  # fmt: skip

    def _guarded_job(self, job_id: str, job: Callable[[], object]) -> None:
        if not self._same_database():
            return
        try:
            job()
        except Exception as exc:  # the job's boundary: tried again on its next tick
            log.error("%s failed: %s\n%s", job_id, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))

    def _retention(self) -> None:
        """Closed cases past MDESK_RETENTION_YEARS anonymised (models/privacy.py); a failure waits a day."""
        from models.privacy import run_retention

        try:
            with db.session_scope(self.engine) as session:
                count = run_retention(session, years=self.settings.retention_years)
        except SQLAlchemyError as exc:
            log.error("retention: not run: %s", type(exc).__name__)
            return
        if count:
            log.info("retention: %d closed case(s) anonymised", count)

    def _dispatch(self, dispatcher: Dispatcher) -> None:
        if not self._same_database():  # a deleted database's outbox would be sent again after a restart
            return
        try:
            dispatcher.run_until_done(should_stop=self.stop.is_set)
        except Exception as exc:  # the job's boundary: a failed round is retried on the next tick
            # Say so on every channel (/healthz): none of them sent this round.
            why = f"dispatch round failed: {type(exc).__name__}"
            for name in dispatcher.channels:
                self.health.channel(name).update("failing", why)
            # The message may quote an address (redacted); the frames are enough to find the bug.
            log.error("%s: %s\n%s", why, redact(str(exc)), "".join(traceback.format_tb(exc.__traceback__)))
            return
        for name, channel in dispatcher.channels.items():
            # Sends failing at our end (relay down, login refused, a bug) are a failing channel, not "ok".
            problem = dispatcher.unavailable.get(name) or dispatcher.errors.get(name)
            self.health.channel(name).update("failing" if problem else "ok", problem or channel.transport)

    def _guarded(self, name: str, job: Callable[[], object]) -> None:
        """A periodic job at the daemon's boundary: a failure is logged and the next run tries again."""
        if not self._same_database():
            return
        try:
            job()
        except Exception as exc:
            log.error("%s failed: %s: %s", name, type(exc).__name__, redact(str(exc)))
            log.debug("%s traceback", name, exc_info=True)

    def _refresh_mailbox_health(self, watcher: MailboxWatcher) -> None:
        mailbox = self.health.mailbox
        mailbox.state = watcher.state
        mailbox.detail = watcher.last_error or ""
        mailbox.since = watcher.since  # the last time it went up or down, not the last round
        mailbox.extra = {"source": self.settings.source_kind, **skipped_files(watcher.source)}

    # -- no part silently dead ---------------------------------------------------------------------

    def _part(self, name: str, target: Callable[..., object], *args: object, **kwargs: object) -> threading.Thread:
        """A thread for one part of the daemon: should it end while the daemon is not stopping, the
        daemon fails (see the module doc)."""

        def guarded() -> None:
            try:
                target(*args, **kwargs)
            except db.DatabaseReplaced as exc:
                self._fail(_replaced(exc))
                return
            except BaseException as exc:  # SystemExit too: uvicorn exits that way when it cannot start
                # The exception text may quote a message: the traceback goes to DEBUG only.
                log.debug("%s traceback", name, exc_info=True)
                self._fail(f"the {name} stopped unexpectedly ({type(exc).__name__})")
                return
            if not self.stop.is_set():
                self._fail(f"the {name} stopped unexpectedly")

        return threading.Thread(target=guarded, name=name.replace(" ", "-"), daemon=True)

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            log.error("%s; stopping", reason)
        self.stop.set()

    def _same_database(self) -> bool:
        """False (and the daemon stopping) when the SQLite file is not the one we opened."""
        try:
            db.check_same_file(self.engine)
        except db.DatabaseReplaced as exc:
            self._fail(_replaced(exc))
            return False
        return True

    def _web_started(self, server: uvicorn.Server) -> bool:
        """Wait for uvicorn to serve the bound socket; False when the daemon is stopping instead."""
        deadline = time.monotonic() + WEB_START_SECONDS
        while not server.started:
            if self.stop.wait(0.02):
                return False
            if time.monotonic() > deadline:
                self._fail(f"the web app did not start within {WEB_START_SECONDS:g} s")
                return False
        return True

    def _bind_web(self) -> socket.socket:
        host, port = self.settings.http_host, self.settings.http_port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn itself decides
        try:
            return socket.create_server((host, port), family=family)
        except OSError as exc:
            where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
            if exc.errno == errno.EADDRINUSE:
                advice = "another program is listening there; stop it or set MDESK_HTTP_PORT to a free port"
            else:
                advice = f"{exc.strerror or exc}; check MDESK_HTTP_HOST and MDESK_HTTP_PORT"
            raise DaemonError(
                f"cannot serve the web app on {where} (MDESK_HTTP_HOST={host}, MDESK_HTTP_PORT={port}): {advice}"
            ) from exc

    def _web_server(self) -> uvicorn.Server:
        config = uvicorn.Config(
            create_app(self.engine, self.health, self.settings),
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_level="warning",
            access_log=False,  # URLs may carry case references; keep them out of the log
        )
        return uvicorn.Server(config)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop.set())


def _replaced(exc: db.DatabaseReplaced) -> str:
    return f"{exc}; mail not yet stored stays unmarked on the server for the next start"


def skipped_files(source: MailSource) -> dict[str, object]:
    """What /healthz says of entries the source leaves untaken (MaildirSource.skipped_files): how
    many, and their names (file names only; at most SKIPPED_SHOWN), for someone to look at."""
    names = tuple(getattr(source, "skipped_files", ()))
    return {"skipped_files": len(names), "skipped_file_names": list(names[:SKIPPED_SHOWN])}


def channels_from_settings(settings: Settings, engine: Engine | None = None) -> dict[str, Channel]:
    """The outbox's channels, by name: the one place a new channel is added. `engine`: where the SMS
    channel keeps what it sent (by MessageSid) for the status callbacks."""
    channels: list[Channel] = [EmailChannel.from_settings(settings), SmsChannel.from_settings(settings, engine)]
    return {channel.name: channel for channel in channels}


def dispatcher_from_settings(
    engine: Engine, settings: Settings, channels: dict[str, Channel] | None = None
) -> Dispatcher:
    return Dispatcher(
        engine,
        settings,
        channels if channels is not None else channels_from_settings(settings, engine),
        worker=f"{socket.gethostname()}:{os.getpid()}:{threading.get_native_id()}",
        lease=timedelta(seconds=settings.outbox_lease_seconds),
    )
