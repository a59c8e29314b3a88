"""Alembic environment: the schema is SQLModel.metadata from reup_app.models."""

from __future__ import annotations

from logging.config import fileConfig

from sqlmodel import SQLModel

import reup_app.models  # noqa: F401  (registers every table)
from alembic import context
from reup_app.db import build_engine
from reup_app.models.types import UtcDateTime
from reup_app.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("url")
        or get_settings().database_url
    )


def render_item(type_, obj, autogen_context):
    """Render our UTC datetime type with its import so migrations stay self-contained."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        autogen_context.imports.add("from reup_app.models.types import UtcDateTime")
        return "UtcDateTime()"
    return False


def _configure(**kw):
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        render_as_batch=True,  # SQLite needs batch mode for ALTERs
        **kw,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = build_engine(_url(), get_settings().db_ssl_ca)
    with engine.connect() as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
