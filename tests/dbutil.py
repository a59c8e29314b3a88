"""Create throw-away MySQL databases and Redis prefixes for tests."""

from __future__ import annotations

import os

import pymysql
from sqlalchemy.engine import make_url

MYSQL_SERVER_URL = os.environ.get("REUP_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("REUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _connect():
    u = make_url(MYSQL_SERVER_URL)
    return pymysql.connect(host=u.host or "127.0.0.1", port=u.port or 3306, user=u.username or "root",
                           password=u.password or "", autocommit=True)


def fresh_mysql_database(name: str) -> str:
    """Drop and create database `name`; return its SQLAlchemy URL."""
    conn = _connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()
    return str(make_url(MYSQL_SERVER_URL).set(database=name).render_as_string(hide_password=False))


def drop_mysql_database(name: str) -> None:
    conn = _connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()
