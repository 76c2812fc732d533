"""The FastAPI app: /healthz (database, mailbox, each outbox channel), /metrics (Prometheus), the
coordinators' desk (web/desk.py: sign-in, the inbox, case pages), all behind web/guard.py, and
telephony's Twilio webhooks under /twilio (signature-checked instead of sign-in) when given settings."""

from __future__ import annotations

import logging
import math
from datetime import UTC

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from models.db import read_scope
from models.metrics import OUTBOX_LAG, REGISTRY
from models.outbox import PENDING, OutboxMessage
from models.settings import Settings, get_settings
from models.types import utcnow
from telephony.routes import TwilioWebhooks
from web.api_sessions import mount as mount_sessions
from web.desk import install_desk
from web.health import DatabaseProbe, Health

log = logging.getLogger("mdesk.web")


def create_app(
    engine: Engine,
    health: Health | None = None,
    settings: Settings | None = None,
    *,
    twilio: TwilioWebhooks | None = None,
) -> FastAPI:
    """`settings` (or `twilio`, the webhooks built by the caller, a test with its own clock) mounts /twilio."""
    app = FastAPI(title="Mediation Desk", docs_url=None, redoc_url=None, openapi_url=None)
    install_desk(app, engine, settings or get_settings())
    if twilio is None and settings is not None:
        twilio = TwilioWebhooks(engine, settings)
    if twilio is not None:
        app.include_router(twilio.router())
    health = health or Health()
    probe = DatabaseProbe(engine)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        database = probe.state()  # within a second, whatever the database does
        ok = database["state"] == "ok" and health.mailbox.state not in ("disconnected",)
        body = {
            "status": "ok" if ok else "degraded",
            "database": database,
            "mailbox": health.mailbox.as_dict(),
            "channels": {name: state.as_dict() for name, state in sorted(health.channels.items())},
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        _update_outbox_lag(engine)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    if settings is not None:  # sessions' JSON API and the mediators' calendar feeds
        mount_sessions(app, engine, settings)
    return app


def _update_outbox_lag(engine: Engine) -> None:
    try:
        with read_scope(engine) as session:  # never the write lock intake and the outbox need
            oldest = session.exec(select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == PENDING)).one()
    except SQLAlchemyError as exc:
        # /metrics still answers (the other figures are good); an unknown lag reads NaN, not a stale
        # number, and /healthz shows the database's state.
        log.error("metrics: outbox lag not measured: %s", type(exc).__name__)
        OUTBOX_LAG.set(math.nan)
        return
    if oldest is not None and oldest.tzinfo is None:  # an aggregate skips the column type on SQLite
        oldest = oldest.replace(tzinfo=UTC)
    OUTBOX_LAG.set(max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0)
