"""The `reup` command line: database migrations, demo data, admin accounts, the job worker and a
configuration check.

    reup migrate                      alembic upgrade head on REUP_DATABASE_URL
    reup seed [--if-empty]            migrate, then create the demo data set and print its logins
    reup create-admin --email E --name N [--password P]
    reup worker                       run the background job scheduler (blocks)
    reup check-config                 validate settings and print a redacted summary
    reup sandbox metrc|fleetbase|dutchie --port N   run a local vendor sandbox (see reup_app/sandboxes/)

User errors print one line to stderr (`reup: error: ...`) and exit 1; no tracebacks.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Sequence

from reup_app.settings import Settings, SettingsError, get_settings, reset_settings_cache

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _settings() -> Settings:
    reset_settings_cache()
    return get_settings()  # SettingsError (naming the variable) -> one line on stderr, exit 1


def describe_database(url: str) -> str:
    """Backend and location of a database URL, without user name or password."""
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except Exception:
        raise CliError("REUP_DATABASE_URL is not a valid database URL") from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        return f"sqlite ({u.database or ':memory:'})"
    where = f"{u.host or 'localhost'}{':' + str(u.port) if u.port else ''}"
    return f"{backend} ({where}, database {u.database or '?'})"


def _engine(settings: Settings):
    from reup_app.db import build_engine

    return build_engine(settings.database_url, settings.db_ssl_ca)


def _require_migrated(settings: Settings, engine) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from reup_app.migrations import alembic_config

    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
    if current != heads:
        raise CliError(
            f"the database {describe_database(settings.database_url)} is not migrated to the "
            "latest schema; run `reup migrate` first"
        )


def _migrate(settings: Settings) -> None:
    from reup_app.migrations import upgrade

    upgrade(settings.database_url)


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    _migrate(settings)
    print(f"Database {describe_database(settings.database_url)} is at the latest schema.")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from reup_app.db import unit_of_work
    from reup_app.security.principal import system_principal
    from reup_app.seed import database_is_empty, seed_demo

    settings = _settings()
    if settings.is_production:
        raise CliError(
            "refusing to load demo accounts (with a published password) into a production deployment (REUP_ENV=prod)"
        )
    _migrate(settings)
    engine = _engine(settings)
    try:
        with unit_of_work(system_principal("cli.seed"), engine=engine) as session:
            if args.if_empty and not database_is_empty(session):
                print("The database already has users or businesses; demo data not loaded (--if-empty).")
                return 0
            summary = seed_demo(session)
    finally:
        engine.dispose()
    print(summary.describe())
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return args.password
    try:
        first = getpass.getpass("Password for the new admin: ")
        second = getpass.getpass("Repeat the password: ")
    except EOFError:
        raise CliError("no password given (use --password or type it at the prompt)") from None
    if first != second:
        raise CliError("the two passwords do not match")
    return first


def cmd_create_admin(args: argparse.Namespace) -> int:
    from sqlalchemy import func
    from sqlalchemy.exc import IntegrityError
    from sqlmodel import select

    from reup_app.db import unit_of_work
    from reup_app.models import User
    from reup_app.security.passwords import PasswordPolicyError, check_policy, hash_password
    from reup_app.security.principal import system_principal

    email = (args.email or "").strip().lower()
    name = (args.name or "").strip()
    if not EMAIL_RE.match(email) or len(email) > 255:
        raise CliError(f"{args.email!r} is not a valid email address")
    if not name:
        raise CliError("--name must not be empty")
    if len(name) > 255:
        raise CliError("--name must be at most 255 characters")
    password = _read_password(args)
    try:
        check_policy(password, email=email)
    except PasswordPolicyError as err:
        raise CliError(f"password rejected: {err}") from None

    settings = _settings()
    engine = _engine(settings)
    try:
        _require_migrated(settings, engine)
        duplicate = CliError(f"a user with email {email} already exists")

        def exists(session) -> bool:
            return session.exec(select(User).where(func.lower(User.email) == email)).first() is not None

        try:
            with unit_of_work(system_principal("cli.create-admin"), engine=engine) as session:
                if exists(session):
                    raise duplicate
                user = User(email=email, full_name=name, password_hash=hash_password(password), is_platform_admin=True)
                session.add(user)
                session.flush()
                user_id = user.id
        except IntegrityError:
            # Lost a race with another process creating the same e-mail? Anything else is a bug.
            with unit_of_work(None, engine=engine) as session:
                if exists(session):
                    raise duplicate from None
            raise
    finally:
        engine.dispose()
    print(f"Platform admin {email} created (user id {user_id}).")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from reup_app.gc_tuning import tune_collector
    from reup_app.jobs.scheduler import run_worker
    from reup_app.logs import configure_logging

    settings = _settings()
    settings.validate_for_production()
    configure_logging(settings.log_format)  # JSON lines, quiet alembic/apscheduler (reup_app/logs.py)
    engine = _engine(settings)
    try:
        _require_migrated(settings, engine)
    finally:
        engine.dispose()
    tune_collector()  # reup_app/gc_tuning.py
    run_worker(settings)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from reup_app.sandboxes.__main__ import run

    return run(args)


def cmd_check_config(args: argparse.Namespace) -> int:
    from reup_app.settings import DEV_SECRET

    settings = _settings()
    if settings.secret_key == DEV_SECRET:
        secret = "development default"
    else:
        secret = f"set ({len(settings.secret_key)} characters)"
    lines = [
        f"environment:     {settings.env}",
        f"database:        {describe_database(settings.database_url)}" + (" with TLS CA" if settings.db_ssl_ca else ""),
        f"redis:           {'set' if settings.redis_url else 'not set (single process, in-memory state)'}",
        f"app url:         {settings.app_url}",
        f"secret key:      {secret}",
        f"encryption keys: {len(settings.encryption_keys)}",
        f"smtp:            {'set' if settings.smtp_url else 'not set (the sender job logs e-mails)'}",
        f"proxy hops:      {settings.trusted_proxy_hops} (X-Forwarded-For {'trusted' if settings.trusted_proxy_hops else 'ignored'})",
    ]
    if settings.database_replica_urls:
        lines.append(
            f"read replicas:   {len(settings.database_replica_urls)} (max lag {settings.replica_max_lag_seconds:g} s)"
        )
    print("\n".join(lines))
    settings.validate_for_production()  # SettingsError -> one line on stderr, exit 1
    if getattr(args, "probe", False):
        return _probe()
    print("Configuration OK.")
    return 0


def _probe() -> int:
    """--probe: the readiness checks the load balancer sees (reup_app.health), one line each."""
    import json

    from reup_app.health import readiness

    ok, report = readiness()
    for name in ("database", "redis", "event_bus"):
        if name in report:
            print(f"{name + ':':16} {json.dumps(report[name])}")
    for r in report["replicas"]:
        print(f"{'replica ' + str(r['replica']) + ':':16} {json.dumps(r)}")
    print("Ready." if ok else "NOT READY.")
    return 0 if ok else 1


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reup", description="ReUp wholesale marketplace administration.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("migrate", help="upgrade the database (REUP_DATABASE_URL) to the latest schema")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("seed", help="migrate, then load the demo data set and print the demo logins")
    p.add_argument(
        "--if-empty", action="store_true", help="only load the demo when the database has no users or businesses yet"
    )
    p.set_defaults(handler=cmd_seed)

    p = sub.add_parser("create-admin", help="create a platform administrator")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True, help="full name")
    p.add_argument("--password", help="the password (prompted for when omitted; prefer the prompt on shared machines)")
    p.set_defaults(handler=cmd_create_admin)

    p = sub.add_parser("worker", help="run the background job scheduler (blocks until stopped)")
    p.set_defaults(handler=cmd_worker)

    from reup_app.sandboxes.__main__ import add_arguments

    p = sub.add_parser("sandbox", help="run a local vendor sandbox (METRC, Fleetbase, Dutchie) for tests and the demo")
    add_arguments(p)
    p.set_defaults(handler=cmd_sandbox)

    p = sub.add_parser("check-config", help="validate the settings and print a redacted summary")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also connect: database, replicas and lag, Redis, event bus (exit 1 if not ready)",
    )
    p.set_defaults(handler=cmd_check_config)
    return parser


def _fail(message: str) -> int:
    print(f"reup: error: {message}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from sqlalchemy.exc import OperationalError

    from reup_app.services.audit.trail import install_audit_listener

    install_audit_listener()  # every command that writes (seed, create-admin, worker) is audited

    try:
        return args.handler(args) or 0
    except (CliError, SettingsError) as err:
        return _fail(str(err))
    except OperationalError as err:
        reason = str(err.orig) if getattr(err, "orig", None) is not None else str(err).splitlines()[0]
        try:
            where = describe_database(get_settings().database_url)
        except CliError:
            where = "REUP_DATABASE_URL"
        return _fail(f"database {where} is not usable: {reason}")
    except KeyboardInterrupt:
        return _fail("interrupted")


if __name__ == "__main__":
    raise SystemExit(main())
