"""The daemon: mailbox intake, the outbox dispatcher (APScheduler 3, in process) and the web app.

Threads: the mailbox watcher (blocking IMAP IDLE or Maildir polling), the APScheduler background
scheduler (outbox dispatch), and uvicorn. The main thread waits for SIGTERM/SIGINT, then drains:
the watcher finishes the message in hand, the scheduler waits for a running dispatch, uvicorn stops.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from inbox.intake import Intake
from inbox.sources.base import MailSource
from inbox.sources.imap import ImapSource
from inbox.sources.maildir import MaildirSource
from inbox.transports import transport_from_settings
from inbox.watch import MailboxWatcher
from models import db, metrics
from models.settings import Settings
from models.types import utcnow
from scheduler.dispatch import Dispatcher
from web.app import create_app
from web.health import Health

log = logging.getLogger("mdesk.daemon")

DISPATCH_SECONDS = 2.0


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

    def __post_init__(self) -> None:
        self.engine = db.make_engine(self.settings.effective_database_url)

    def run(self, *, web: bool = True) -> None:
        db.upgrade(self.engine)
        self._install_signal_handlers()
        watcher = MailboxWatcher(source_from_settings(self.settings))
        intake = Intake(self.engine, self.settings)
        intake.start_workers()  # settings.intake_workers reading processes, if any
        dispatcher = dispatcher_from_settings(self.engine, self.settings)
        watch_thread = threading.Thread(
            target=watcher.run,
            args=(intake.handle, self.stop),
            kwargs={"handle_batch": intake.handle_batch, "read_ahead": intake.read_ahead},
            name="mailbox-watcher",
            daemon=True,
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
            next_run_time=utcnow(),
        )
        server = self._web_server() if web else None
        web_thread = threading.Thread(target=server.run, name="web", daemon=True) if server else None

        watch_thread.start()
        scheduler.start()
        if web_thread:
            web_thread.start()
        log.info(
            "Mediation Desk running: source %s, transport %s, web %s",
            self.settings.source_kind,
            self.settings.email_transport_kind,
            f"http://{self.settings.http_host}:{self.settings.http_port}" if web else "off",
        )
        try:
            while not self.stop.wait(1.0):
                self._refresh_mailbox_health(watcher)
        finally:
            log.info("stopping: draining intake and the outbox")
            watcher_stop = getattr(watcher, "interrupt", None)
            if watcher_stop:
                watcher_stop()
            watch_thread.join(timeout=60)
            intake.close()  # its reading workers (settings.intake_workers), if any
            scheduler.shutdown(wait=True)
            if server:
                server.should_exit = True
            if web_thread:
                web_thread.join(timeout=15)
            self.engine.dispose()
            log.info("stopped")

    def _dispatch(self, dispatcher: Dispatcher) -> None:
        try:
            stats = dispatcher.run_until_done(should_stop=self.stop.is_set)
            metrics.OUTBOX_SENT.labels("email").inc(stats.sent)
            metrics.OUTBOX_FAILED.labels("email").inc(stats.failed)
            unavailable = dispatcher.unavailable.get("email")
            # Sends failing at our end (relay down, login refused) are a failing transport, not "ok".
            self.health.transport.state = "failing" if unavailable else "ok"
            self.health.transport.detail = unavailable or self.settings.email_transport_kind
        except Exception as exc:  # a failed round is retried on the next tick
            self.health.transport.state = "failing"
            self.health.transport.detail = type(exc).__name__
            log.error("outbox dispatch round failed", exc_info=True)

    def _refresh_mailbox_health(self, watcher: MailboxWatcher) -> None:
        mailbox = self.health.mailbox
        mailbox.state = watcher.state
        mailbox.detail = watcher.last_error or ""
        mailbox.since = watcher.last_ok_at
        mailbox.extra = {"source": self.settings.source_kind}

    def _web_server(self) -> uvicorn.Server:
        config = uvicorn.Config(
            create_app(self.engine, self.health),
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


def dispatcher_from_settings(engine: Engine, settings: Settings) -> Dispatcher:
    return Dispatcher(
        engine,
        settings,
        email_transport=transport_from_settings(settings),
        worker=f"{socket.gethostname()}:{os.getpid()}:{threading.get_native_id()}",
        lease=timedelta(seconds=settings.outbox_lease_seconds),
    )
