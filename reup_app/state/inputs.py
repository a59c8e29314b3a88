"""Turning browser-supplied event arguments into safe values (anything may arrive)."""

from __future__ import annotations

from typing import Any


def parse_id(value: Any) -> int | None:
    """A positive row id from a string or int the page sent; None for anything else."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() and 0 < len(text) < 12 and int(text) > 0 else None


def describe_rejected_files(rejections: Any, *, max_bytes: int, types_text: str) -> str:
    """Say which files the browser's file picker refused and why.

    `rejections` is [{"name", "codes"}] as built by `components.forms.rejected_files` (react-dropzone
    codes such as "file-too-large", "file-invalid-type", "too-many-files")."""
    problems = []
    for r in (rejections if isinstance(rejections, list) else [])[:10]:
        name = str(r.get("name") or "A file")[:60] if isinstance(r, dict) else "A file"
        codes = r.get("codes") if isinstance(r, dict) else None
        codes = codes if isinstance(codes, list) else []
        if "file-too-large" in codes:
            problems.append(f"{name} is larger than {max_bytes // 1024 // 1024} MB.")
        elif "file-invalid-type" in codes:
            problems.append(f"{name} is not {types_text}.")
        elif "too-many-files" in codes:
            problems.append(f"{name}: choose fewer files at once.")
        else:
            problems.append(f"{name} can't be uploaded.")
    return " ".join(problems) or "Those files can't be uploaded."
