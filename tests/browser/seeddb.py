"""Reading the seeded demo database from browser tests (to choose data and check what the UI did)."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def rows(url: str, sql: str, **params) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params):
    (row,) = rows(url, sql, **params)
    return row[0]
