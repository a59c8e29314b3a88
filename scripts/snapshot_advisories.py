"""Refresh scripts/advisories/: the PyPA advisory database's entries for every installed distribution.

The dependency audit (scripts/audit_deps.py) reads this committed snapshot when PyPI's advisory feed
cannot be reached and REUP_ADVISORY_DB is not set, so a fresh machine behind a PyPI mirror still
audits (against the snapshot's date, printed by the audit). Refresh it from a checkout or bare git
directory of https://github.com/pypa/advisory-database:

    REUP_ADVISORY_DB=/path/to/advisory-database python scripts/snapshot_advisories.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from audit_deps import SNAPSHOT, installed


def _git(db: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(db), *args], capture_output=True, text=True, check=True).stdout


def main() -> int:
    db = Path(os.environ["REUP_ADVISORY_DB"])
    bare = not (db / "vulns").is_dir()
    names = set(installed())
    if SNAPSHOT.exists():
        shutil.rmtree(SNAPSHOT)
    files = 0
    for name in sorted(names):
        if bare:
            paths = [
                p
                for p in _git(db, "ls-tree", "-r", "--name-only", "HEAD", f"vulns/{name}/").split()
                if p.endswith(".yaml")
            ]
            texts = {p: _git(db, "show", f"HEAD:{p}") for p in paths}
        else:
            texts = {str(p.relative_to(db)): p.read_text() for p in sorted((db / "vulns" / name).glob("*.yaml"))}
        for rel, text in texts.items():
            out = SNAPSHOT / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
            files += 1
    stamp = _git(db, "log", "-1", "--format=%H %cI") if bare else "(working tree)"
    (SNAPSHOT / "SNAPSHOT").write_text(f"pypa/advisory-database {stamp.strip()}\n")
    print(f"{files} advisories for {len(names)} distributions -> {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
