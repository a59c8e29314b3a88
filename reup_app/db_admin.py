"""Create and drop whole MySQL databases (tests, benchmarks, operators). Never imports reflex."""

from __future__ import annotations

import os

import pymysql
from sqlalchemy.engine import make_url

SERVER_URL = os.environ.get("REUP_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")


def server_connect(server_url: str = SERVER_URL, database: str | None = None, autocommit: bool = True):
    u = make_url(server_url)
    return pymysql.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 3306,
        user=u.username or "root",
        password=u.password or "",
        database=database,
        autocommit=autocommit,
    )


def database_url(name: str, server_url: str = SERVER_URL) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def fresh_mysql_database(name: str, server_url: str = SERVER_URL) -> str:
    """Drop and create database `name` (utf8mb4); return its SQLAlchemy URL."""
    conn = server_connect(server_url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()
    return database_url(name, server_url)


def drop_mysql_database(name: str, server_url: str = SERVER_URL) -> None:
    conn = server_connect(server_url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()
