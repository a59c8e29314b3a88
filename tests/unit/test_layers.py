"""The layer contracts (pyproject.toml [tool.importlinter], run by `lint-imports`): kept by the real
tree, and broken by each kind of violation planted in a copy of the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
NAMES = {c["id"]: c["name"] for c in CONFIG["contracts"]}
LINT_IMPORTS = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or "lint-imports"


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the package under `project`, with the project's own configuration."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of reup_app to plant violations in."""
    shutil.copytree(ROOT / "reup_app", tmp_path / "reup_app", ignore=shutil.ignore_patterns("__pycache__", ".web"))
    return tmp_path


def plant(project: Path, module: str, line: str) -> None:
    """Append an import to `module` (a dotted name; a package means its __init__), creating it if new."""
    path = project.joinpath(*module.split("."))
    target = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    for parent in reversed(target.relative_to(project).parents[:-1]):
        init = project / parent / "__init__.py"
        if not init.exists():
            init.parent.mkdir(exist_ok=True)
            init.write_text('"""planted"""\n')
    with target.open("a") as f:
        f.write(f"\n{line}\n")


def test_the_real_tree_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in NAMES.values():
        assert f"{name} KEPT" in " ".join(result.stdout.split()), result.stdout
    assert f"Contracts: {len(NAMES)} kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("contract", "module", "line", "named"),
    [
        ("no-reflex-below-state", "reup_app.services", "import reflex", "reup_app.services -> reflex"),
        ("no-reflex-below-state", "reup_app.models.types", "import reflex", "reup_app.models.types -> reflex"),
        (
            "no-reflex-below-state",
            "reup_app.integrations.metrc",
            "import reflex",
            "reup_app.integrations.metrc -> reflex",
        ),
        ("layers", "reup_app.services", "from reup_app.pages import home", "reup_app.pages.home"),
        ("layers", "reup_app.state", "from reup_app.api import routes", "reup_app.api.routes"),
        ("layers", "reup_app.jobs", "from reup_app.state import auth", "reup_app.state.auth"),
        ("layers", "reup_app.db", "from reup_app.services.audit import trail", "reup_app.services.audit.trail"),
        ("layers", "reup_app.events.core", "import reup_app.services", "reup_app.events.core -> reup_app.services"),
        ("layers", "reup_app.integrations.metrc", "import reup_app.services", "reup_app.integrations.metrc"),
        ("pages-through-state", "reup_app.pages", "from reup_app.services import audit", "reup_app.services.audit"),
        ("sandboxes", "reup_app.sandboxes.metrc", "from reup_app.state import base", "reup_app.sandboxes.metrc"),
        ("acyclic", "reup_app.state.base", "from reup_app.state import auth", ".base -> .auth"),
        ("acyclic", "reup_app.events.event", "from reup_app.events import core", "reup_app.events"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " not in v else None,
)
def test_a_planted_violation_breaks_its_contract(project, contract, module, line, named):
    plant(project, module, line)
    result = lint_imports(project)
    out = " ".join(result.stdout.split())  # the report wraps long names
    assert result.returncode != 0, result.stdout
    assert f"{NAMES[contract]} BROKEN" in out, result.stdout
    assert named in out, result.stdout


def test_any_service_brings_the_notification_writer_without_events_naming_it():
    """The events layer no longer imports services by name: importing any service registers the
    notification writer's pre-commit handler (reup_app/services/__init__.py)."""
    code = (
        "from reup_app.events import core\n"
        "print('before:', [h.__module__ for h in core._PRECOMMIT_HANDLERS])\n"
        "import reup_app.services  # what importing any service module does first\n"
        "print('after:', [h.__module__ for h in core._PRECOMMIT_HANDLERS])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "before: []" in result.stdout
    after = result.stdout.split("after:", 1)[1]
    assert "'reup_app.services.notifications.inbox'" in after
    # the webhook publisher (services/public_api/webhooks.py) and the Fleetbase manifest-number hook
    # (services/logistics/fleetbase_manifest.py) join the same way
    assert "'reup_app.services.public_api.webhooks'" in after
    assert "'reup_app.services.logistics.fleetbase_manifest'" in after
