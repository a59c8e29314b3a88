"""Fail fast, with a clear message, when the MySQL or Redis the tests need is not reachable."""

import os
import sys

import pymysql
import redis
from sqlalchemy.engine import make_url

mysql_url = make_url(os.environ["REUP_TEST_MYSQL_URL"])
redis_url = os.environ["REUP_TEST_REDIS_URL"]
problems = []
try:
    pymysql.connect(
        host=mysql_url.host or "127.0.0.1",
        port=mysql_url.port or 3306,
        user=mysql_url.username or "root",
        password=mysql_url.password or "",
        connect_timeout=5,
    ).close()
except Exception as exc:
    problems.append(f"MySQL at {mysql_url.render_as_string(hide_password=True)} is not reachable: {exc}")
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
except Exception as exc:
    problems.append(f"Redis at {redis_url} is not reachable: {exc}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    print("Set REUP_TEST_MYSQL_URL / REUP_TEST_REDIS_URL to reachable servers.", file=sys.stderr)
    sys.exit(2)
