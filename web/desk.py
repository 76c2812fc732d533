"""The coordinators' desk on the app: its routes, its static assets, and the guard in front of all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from models.settings import Settings
from web import case_pages, mediator_pages, pages, sign_in
from web.guard import DeskGuard

STATIC_DIR = Path(__file__).resolve().parent / "static"


def install_desk(app: FastAPI, engine: Engine, settings: Settings) -> None:
    routers = [
        sign_in.router(engine, settings),
        pages.router(engine, settings),
        case_pages.router(engine, settings),
        mediator_pages.router(engine, settings),
    ]
    for router in routers:
        app.include_router(router)
    app.state.desk_routes = [route for router in routers for route in router.routes]  # what tests walk
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(DeskGuard, engine=engine, idle=timedelta(minutes=settings.session_idle_minutes))
