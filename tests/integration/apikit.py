"""A running public API server (granian subprocess on a free port) and API keys for test parties."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from reup_app.db import unit_of_work
from reup_app.security.principal import Principal
from reup_app.security.ratelimit import RedisBackend, set_backend
from reup_app.services.public_api import keys

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """With Redis, the server gets its own namespace (event channel) and this test process uses the
    same one for the rate-limit backend, as an app process and the API share one Redis in a
    deployment: a key revoked here is refused there at once (the principal cache's invalidation)."""

    def __init__(self, database_url: str, redis_url: str | None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "REUP_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
        self.backend: RedisBackend | None = None
        if redis_url:
            channel = f"reup-api-test-{uuid.uuid4().hex[:12]}"
            env["REUP_REDIS_URL"], env["REUP_EVENT_CHANNEL"] = redis_url, channel
            self.backend = RedisBackend(redis_url, prefix=f"{channel}:")
            set_backend(self.backend)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "tests.api_server:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/api/v1/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the API server did not start")

    def client(self, secret: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def stop(self) -> None:
        if self.backend is not None:
            set_backend(None)
            self.backend.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def new_key(engine, owner: Principal, role: str = "owner", **kw) -> tuple[int, str]:
    with unit_of_work(owner, engine=engine) as s:
        made = keys.create_key(s, owner, name=kw.pop("name", "Test key"), role=role, **kw)
    return made.key.id, made.secret


def declared_schema(spec: dict, path: str, method: str, status: int, content_type: str) -> dict:
    """The body schema the OpenAPI document declares for this operation, status and content type
    (KeyError when it declares none), with the document's components so its $refs resolve."""
    content = spec["paths"][path][method]["responses"][str(status)]["content"]
    media_type = content_type.split(";")[0].strip()
    return {**content[media_type]["schema"], "components": spec["components"]}


def schema_errors(schema: dict, body: object) -> list[str]:
    """Why `body` does not match `schema` (JSON Schema 2020-12, as OpenAPI 3.1); empty when it does."""
    import jsonschema_rs

    return [f"{e.instance_path}: {e.message}" for e in jsonschema_rs.Draft202012Validator(schema).iter_errors(body)]
