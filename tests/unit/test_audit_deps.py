"""The offline dependency audit (scripts/audit_deps.py) flags a known-vulnerable pin, passes a fixed
one, and accepts only the advisories the allow-list names."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_deps.py"
ADVISORY = """id: PYSEC-2099-1
affected:
- package:
    name: Demo_Lib
    ecosystem: PyPI
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: "0"
    - fixed: 2.3.0
  versions: []
"""


@pytest.fixture(scope="module")
def audit():
    spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def db(tmp_path):
    (tmp_path / "vulns" / "demo-lib").mkdir(parents=True)
    (tmp_path / "vulns" / "demo-lib" / "PYSEC-2099-1.yaml").write_text(ADVISORY)
    return tmp_path


def test_known_vulnerable_pin_is_found_and_fixed_one_is_not(audit, db):
    assert audit.offline(db, {"demo-lib": "2.2.9", "other": "1.0"}) == {"demo-lib": ["PYSEC-2099-1"]}
    assert audit.offline(db, {"demo-lib": "2.3.0"}) == {}


def test_main_fails_unless_the_advisory_is_accepted(audit, db, tmp_path, monkeypatch):
    monkeypatch.setenv("REUP_ADVISORY_DB", str(db))
    monkeypatch.setattr(audit, "installed", lambda: {"demo-lib": "1.0"})
    assert audit.main(["--offline"]) == 1
    allow = tmp_path / "allow.txt"
    allow.write_text("PYSEC-2099-1  demo-lib  not reachable from ReUp\n")
    monkeypatch.setattr(audit, "ALLOWLIST", allow)
    monkeypatch.setattr(audit.allowlist, "__defaults__", (allow,))
    assert audit.main(["--offline"]) == 0


def test_no_source_is_not_a_pass(audit, monkeypatch, tmp_path):
    monkeypatch.delenv("REUP_ADVISORY_DB", raising=False)
    monkeypatch.setattr(audit, "SNAPSHOT", tmp_path / "no-snapshot")
    assert audit.main(["--offline"]) == 2


def test_the_committed_snapshot_is_the_offline_fallback(audit, monkeypatch, capsys):
    monkeypatch.delenv("REUP_ADVISORY_DB", raising=False)
    assert (audit.SNAPSHOT / "SNAPSHOT").exists()
    assert audit.main(["--offline"]) == 0
    assert "committed snapshot scripts/advisories" in capsys.readouterr().out


def test_a_known_vulnerable_pin_fails_against_the_snapshot(audit, monkeypatch):
    """setuptools 65.5.0 has PYSEC-2022-43012 in the snapshot; without its allow-list entry the audit fails."""
    monkeypatch.delenv("REUP_ADVISORY_DB", raising=False)
    monkeypatch.setattr(audit, "installed", lambda: {"setuptools": "65.5.0"})
    monkeypatch.setattr(audit, "allowlist", lambda path=None: {})
    assert audit.main(["--offline"]) == 1


def test_the_allowlist_gives_a_reason_for_every_entry(audit):
    assert all(len(reason) > 20 for reason in audit.allowlist().values())
