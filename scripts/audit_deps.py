"""Dependency audit: every installed distribution checked against the PyPI advisory data.

1. Online: `pip-audit` against PyPI's advisory feed (the JSON API's `vulnerabilities`).
2. Offline, or when that feed cannot be reached (every package comes back "not found on PyPI",
   as on a machine behind a PyPI mirror): the same data from a local copy of the PyPA advisory
   database (https://github.com/pypa/advisory-database, `vulns/<package>/*.yaml`, OSV format) at
   `REUP_ADVISORY_DB` (a checkout, or a bare git directory: read with `git cat-file`), else the
   committed snapshot of the advisories of every installed distribution in `scripts/advisories/`
   (refreshed with `scripts/snapshot_advisories.py`; its date is printed).

Advisories listed in `scripts/audit_allowlist.txt` (id, package, reason) are accepted; any other
advisory for an installed version fails the run (exit 1). No source at all also fails (exit 2):
an audit that could not look is not a pass.

    python scripts/audit_deps.py            # online, falling back to REUP_ADVISORY_DB
    python scripts/audit_deps.py --offline  # REUP_ADVISORY_DB only
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

ALLOWLIST = Path(__file__).with_name("audit_allowlist.txt")
# Committed copy of the advisories of every installed distribution (scripts/snapshot_advisories.py):
# the offline source when PyPI's feed is unreachable and REUP_ADVISORY_DB is not set.
SNAPSHOT = Path(__file__).with_name("advisories")
SELF = {"reup"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict[str, str]:
    out = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name and norm(name) not in SELF:
            out[norm(name)] = dist.version
    return out


def allowlist(path: Path = ALLOWLIST) -> dict[str, str]:
    """advisory id -> reason (lines: `ID package reason...`; # comments)."""
    out = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        line = line.split("#", 1)[0].strip()
        if line:
            ident, _pkg, reason = (line.split(None, 2) + ["", ""])[:3]
            out[ident] = reason
    return out


def _affected(entry: dict, version: str) -> bool:
    if version in (entry.get("versions") or []):
        return True
    try:
        v = Version(version)
    except InvalidVersion:
        return False
    for rng in entry.get("ranges") or []:
        if rng.get("type") != "ECOSYSTEM":
            continue
        inside = False
        for ev in rng.get("events") or []:
            if "introduced" in ev:
                inside = ev["introduced"] == "0" or v >= Version(str(ev["introduced"]))
            elif "fixed" in ev and inside and v >= Version(str(ev["fixed"])):
                inside = False
            elif "last_affected" in ev and inside and v > Version(str(ev["last_affected"])):
                inside = False
        if inside:
            return True
    return False


def advisories_in(docs: Iterable[dict], name: str, version: str) -> list[str]:
    found = []
    for doc in docs:
        if doc.get("withdrawn"):
            continue
        for entry in doc.get("affected") or []:
            pkg = entry.get("package") or {}
            if pkg.get("ecosystem") == "PyPI" and norm(pkg.get("name", "")) == name and _affected(entry, version):
                found.append(doc["id"])
                break
    return found


def _docs_from(db: Path, name: str) -> list[dict]:
    if (db / "vulns").is_dir():
        return [yaml.safe_load(p.read_text()) for p in sorted((db / "vulns" / name).glob("*.yaml"))]
    listing = subprocess.run(
        ["git", "--git-dir", str(db), "ls-tree", "-r", "--name-only", "HEAD", f"vulns/{name}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        yaml.safe_load(subprocess.run(["git", "--git-dir", str(db), "show", f"HEAD:{p}"], capture_output=True, text=True, check=True).stdout)
        for p in listing
        if p.endswith(".yaml")
    ]  # fmt: skip


def offline(db: Path, pins: dict[str, str]) -> dict[str, list[str]]:
    return {n: ids for n, v in sorted(pins.items()) if (ids := advisories_in(_docs_from(db, n), n, v))}


def online(pins: dict[str, str]) -> dict[str, list[str]] | None:
    """pip-audit against PyPI; None when PyPI's advisory feed could not be reached."""
    with tempfile.TemporaryDirectory() as tmp:
        req, out = Path(tmp) / "req.txt", Path(tmp) / "out.json"
        req.write_text("".join(f"{n}=={v}\n" for n, v in pins.items()))
        cmd = [sys.executable, "-m", "pip_audit", "-s", "pypi", "-r", str(req), "--no-deps", "--disable-pip"]
        subprocess.run([*cmd, "--progress-spinner", "off", "-f", "json", "-o", str(out)], capture_output=True)
        if not out.exists():
            return None
        deps = json.loads(out.read_text()).get("dependencies", [])
    if not deps or all("not found on PyPI" in (d.get("skip_reason") or "") for d in deps):
        return None
    return {norm(d["name"]): [v["id"] for v in d.get("vulns", [])] for d in deps if d.get("vulns")}


def main(argv: list[str]) -> int:
    pins = installed()
    found = None if "--offline" in argv else online(pins)
    source = "PyPI (pip-audit)"
    if found is None:
        db = os.environ.get("REUP_ADVISORY_DB", "")
        if db and Path(db).exists():
            found, source = offline(Path(db), pins), f"PyPA advisory database at {db}"
        elif (SNAPSHOT / "SNAPSHOT").exists():
            stamp = (SNAPSHOT / "SNAPSHOT").read_text().strip()
            found, source = offline(SNAPSHOT, pins), f"the committed snapshot scripts/advisories ({stamp})"
        else:
            print("dependency audit: PyPI's advisory feed is unreachable and no advisory database", file=sys.stderr)
            return 2
    accepted = allowlist()
    bad = {n: [i for i in ids if i not in accepted] for n, ids in found.items()}
    bad = {n: ids for n, ids in bad.items() if ids}
    print(f"dependency audit: {len(pins)} distributions against {source}")
    for n, ids in found.items():
        for i in ids:
            print(f"  {n} {pins.get(n, '?')}: {i}" + (f" (accepted: {accepted[i]})" if i in accepted else ""))
    if bad:
        print(f"dependency audit: FAILED, {sum(map(len, bad.values()))} unaccepted advisories", file=sys.stderr)
        return 1
    print("dependency audit: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
