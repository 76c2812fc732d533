"""Alembic environment: runs on the connection handed in by models.db.upgrade, or on the URL."""

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import models.tables  # noqa: F401

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: no connection handed in and no sqlalchemy.url configured")
    engine = create_engine(url)
    with engine.begin() as conn:
        _migrate(conn)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
