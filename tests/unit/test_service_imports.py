"""Every service module imports on its own and in any order (no import cycles), and every name a
domain package re-exports in `__all__` resolves."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "reup_app" / "services"

SCRIPT = """
import importlib, sys
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    for export in getattr(module, "__all__", ()) if name.count(".") == 2 else ():
        getattr(module, export)
print("ok")
"""


def _modules() -> list[str]:
    names = []
    for path in sorted(SERVICES.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _import_in_fresh_interpreter(names: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, *names], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_service_packages_are_found():
    names = _modules()
    assert "reup_app.services.ordering" in names and "reup_app.services.ordering.checkout_flow" in names


def test_each_package_alone_then_its_exports_resolve():
    packages = [n for n in _modules() if n.count(".") == 2 and (SERVICES / n.split(".")[2]).is_dir()]
    assert len(packages) >= 9
    for package in packages:
        result = _import_in_fresh_interpreter([package])
        assert result.returncode == 0, f"{package}:\n{result.stderr[-3000:]}"


def test_all_modules_in_random_orders():
    names = _modules()
    for seed in range(2):
        order = names[:]
        random.Random(seed).shuffle(order)
        result = _import_in_fresh_interpreter(order)
        assert result.returncode == 0, f"order (seed {seed}) {order}:\n{result.stderr[-3000:]}"
