"""Documents a business uploads for its review, stored privately (`services.private_files`).

Who may touch them: the business's own owners and admins (action `entity.documents`) and platform
admins (oversight); other businesses get NotFound. An applicant cannot sign in before approval, so
the sign-up hands the page an *upload grant* (HMAC-signed business + user + expiry, kept in a
backend-only state var) that lets it add documents to that pending business for an hour.

Downloads: `create_download_ticket` authorizes and issues a single-use 60 s ticket bound to the
user, the document and the user's token version; `open_download` (the API route) burns it and
checks the user again (still active, same token version, still a platform admin or an owner/admin).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session, col

from reup_app.errors import NotAuthenticated, NotFound, ValidationError
from reup_app.models import BusinessDocument, Entity, License
from reup_app.models.enums import DocumentKind, EntityStatus, Role
from reup_app.security import tickets
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services import private_files
from reup_app.services.common import parse_int
from reup_app.services.identity import principal_cache
from reup_app.settings import get_settings

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS_PER_BUSINESS = 30
GRANT_SECONDS = 60 * 60
TICKET_SECONDS = 60
TICKET_PURPOSE = "business-document-download"
KIND_LABELS = {
    DocumentKind.STATE_LICENSE.value: "State licence certificate",
    DocumentKind.BUSINESS_REGISTRATION.value: "Business registration",
    DocumentKind.OTHER.value: "Other document",
}


@dataclass(frozen=True)
class DocumentRow:
    id: int
    entity_id: int
    license_id: int | None
    kind: str
    kind_label: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    review_status: str
    review_reason: str | None


def _row(doc: BusinessDocument) -> DocumentRow:
    return DocumentRow(
        id=doc.id,
        entity_id=doc.entity_id,
        license_id=doc.license_id,
        kind=doc.kind,
        kind_label=KIND_LABELS.get(doc.kind, doc.kind),
        filename=doc.filename,
        content_type=doc.content_type,
        size_bytes=doc.size_bytes,
        sha256=doc.sha256,
        uploaded_at=doc.uploaded_at,
        review_status=doc.review_status,
        review_reason=doc.review_reason,
    )


# --- the sign-up upload grant ----------------------------------------------------------------


def _sign(message: str) -> str:
    key = hashlib.sha256(b"reup-signup-document-grant:" + get_settings().secret_key.encode()).digest()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def signup_grant(entity_id: int, user_id: int, *, now: float | None = None) -> str:
    """The grant a fresh sign-up gets to add documents to its pending business (kept backend-only)."""
    body = f"{int(entity_id)}.{int(user_id)}.{int((now or time.time()) + GRANT_SECONDS)}"
    return f"{body}.{_sign(body)}"


def _grant_owner(grant: object, *, now: float | None = None) -> tuple[int, int]:
    parts = grant.split(".") if isinstance(grant, str) and len(grant) < 200 else []
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        raise NotAuthenticated("Your sign-up session has ended; sign in after approval to add documents.")
    if not hmac.compare_digest(parts[3], _sign(".".join(parts[:3]))) or int(parts[2]) < (now or time.time()):
        raise NotAuthenticated("Your sign-up session has ended; sign in after approval to add documents.")
    return int(parts[0]), int(parts[1])


# --- upload ----------------------------------------------------------------------------------


def _check_file(filename: object, data: object) -> tuple[str, str, bytes]:
    name = " ".join(str(filename or "document").split())[:120] or "document"
    name = name.replace("/", "_").replace("\\", "_")
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ValidationError(f"{name} is empty.", "file")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationError(
            f"{name} is {len(data) / 1024 / 1024:.1f} MB; documents can be at most "
            f"{MAX_DOCUMENT_BYTES // 1024 // 1024} MB.",
            "file",
        )
    try:
        content_type = private_files.sniff_document(bytes(data))
    except ValidationError as err:
        raise ValidationError(f"{name}: {err} Upload a PDF, PNG or JPEG.", "file") from None
    return name, content_type, bytes(data)


def _store(
    session: Session, entity_id: int, user_id: int | None, kind: object, license_id: object, filename, data
) -> DocumentRow:
    if kind not in KIND_LABELS:
        raise ValidationError("Choose what kind of document this is.", "kind")
    lic_id = parse_int(license_id, "license_id") if license_id not in (None, "") else None
    if lic_id is not None:
        owner = session.execute(select(col(License.entity_id)).where(col(License.id) == lic_id)).scalar_one_or_none()
        if owner != entity_id:
            raise NotFound("That licence was not found.")
    elif kind == DocumentKind.STATE_LICENSE:
        raise ValidationError("Choose which licence this certificate is for.", "license_id")
    name, content_type, blob = _check_file(filename, data)
    session.execute(select(col(Entity.id)).where(col(Entity.id) == entity_id).with_for_update())  # one upload at a time
    count = session.execute(
        select(func.count(col(BusinessDocument.id))).where(col(BusinessDocument.entity_id) == entity_id)
    ).scalar_one()
    if count >= MAX_DOCUMENTS_PER_BUSINESS:
        raise ValidationError(f"A business can keep at most {MAX_DOCUMENTS_PER_BUSINESS} documents.", "file")
    key = f"documents/{entity_id}/{uuid.uuid4().hex}.{private_files.EXTENSIONS[content_type]}"
    private_files.store(key, blob)
    doc = BusinessDocument(
        entity_id=entity_id,
        license_id=lic_id,
        kind=str(kind),
        filename=name,
        content_type=content_type,
        size_bytes=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        storage_key=key,
        uploaded_by_user_id=user_id,
    )
    try:
        session.add(doc)
        session.flush()
    except Exception:
        private_files.remove(key)
        raise
    return _row(doc)


def upload_document(
    session: Session, principal: Principal, kind: str, license_id: int | None, filename: str, data: bytes
) -> DocumentRow:
    """A signed-in owner or admin adds a document to their own business."""
    authorize(principal, "entity.documents", principal.entity_id)
    if principal.entity_id is None:  # a platform admin acting for no business
        raise ValidationError("Documents are uploaded by the business itself.")
    return _store(session, principal.entity_id, principal.user_id, kind, license_id, filename, data)


def upload_signup_document(
    session: Session, grant: str, kind: str, license_id: int | None, filename: str, data: bytes
) -> DocumentRow:
    """The applicant adds a document to the business they just signed up (still pending)."""
    entity_id, user_id = _grant_owner(grant)
    status = session.execute(select(col(Entity.status)).where(col(Entity.id) == entity_id)).scalar_one_or_none()
    if status != EntityStatus.PENDING:
        raise ValidationError("This application was already decided; sign in to add documents.")
    return _store(session, entity_id, user_id, kind, license_id, filename, data)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseChoice:
    id: int
    label: str  # "CA C11-0000123-LIC (distributor)"
    review_status: str


def license_label(lic: License) -> str:
    return f"{lic.state} {lic.number} ({lic.license_type})"


def _licenses(session: Session, entity_id: int) -> list[LicenseChoice]:
    rows = session.execute(
        select(License).where(col(License.entity_id) == entity_id).order_by(col(License.id))
    ).scalars()
    return [LicenseChoice(r.id, license_label(r), r.review_status) for r in rows]


def documents_of(session: Session, entity_ids: list[int]) -> dict[int, list[DocumentRow]]:
    """Rows by business, newest first; callers have authorized every id."""
    out: dict[int, list[DocumentRow]] = {}
    if entity_ids:
        docs = session.execute(
            select(BusinessDocument)
            .where(col(BusinessDocument.entity_id).in_(entity_ids))
            .order_by(col(BusinessDocument.uploaded_at).desc(), col(BusinessDocument.id).desc())
        ).scalars()
        for d in docs:
            out.setdefault(d.entity_id, []).append(_row(d))
    return out


def list_documents(
    session: Session, principal: Principal, entity_id: int | None = None
) -> tuple[list[LicenseChoice], list[DocumentRow]]:
    """(licences, documents) of a business: its own owners/admins, or a platform admin."""
    target = principal.entity_id if entity_id is None else parse_int(entity_id, "entity_id")
    if target is None:
        raise ValidationError("Choose a business.", "entity_id")
    authorize(principal, "entity.documents", target)
    return _licenses(session, target), documents_of(session, [target]).get(target, [])


def list_signup_documents(session: Session, grant: str) -> tuple[list[LicenseChoice], list[DocumentRow]]:
    entity_id, _user = _grant_owner(grant)
    return _licenses(session, entity_id), documents_of(session, [entity_id]).get(entity_id, [])


# --- download --------------------------------------------------------------------------------


def create_download_ticket(session: Session, principal: Principal, document_id: int) -> str:
    """A single-use ticket for /api/documents/<id>?ticket=...; refused unless the principal may see it."""
    doc = session.get(BusinessDocument, parse_int(document_id, "document_id"))
    if doc is None:
        raise NotFound("That document was not found.")
    try:
        authorize(principal, "entity.documents", doc.entity_id)
    except Exception:
        raise NotFound("That document was not found.") from None
    bound = {"d": doc.id, "u": principal.user_id, "e": principal.entity_id, "tv": principal.token_version}
    return tickets.issue(TICKET_PURPOSE, bound, TICKET_SECONDS)


@dataclass(frozen=True)
class ServedDocument:
    path: Path
    content_type: str
    filename: str


def open_download(session: Session, ticket: object, document_id: object) -> ServedDocument:
    """Burn the ticket and say what to send; NotAuthenticated/NotFound when nothing may be sent."""
    bound = tickets.take(TICKET_PURPOSE, ticket)
    if bound is None:
        raise NotAuthenticated("This download link has expired or was already used. Download it again from the page.")
    doc = session.get(BusinessDocument, int(bound["d"]))
    if doc is None or str(document_id) != str(bound["d"]):
        raise NotFound("That document was not found.")
    state, _revoked = principal_cache.auth_state(int(bound["u"]), session=session)
    if state is None or not state["a"] or state["tv"] != bound["tv"]:
        raise NotAuthenticated("Your session has ended. Please sign in again.")
    member = state["m"].get(str(bound["e"])) if bound["e"] is not None else None
    roles = frozenset({member[0]}) if member and member[1] == EntityStatus.APPROVED else frozenset()
    again = Principal(
        user_id=int(bound["u"]),
        entity_id=bound["e"],
        roles=roles & {Role.OWNER.value, Role.ADMIN.value},
        is_platform_admin=bool(state["adm"]),
        token_version=bound["tv"],
    )
    authorize(again, "entity.documents", doc.entity_id)
    return ServedDocument(private_files.existing_path(doc.storage_key), doc.content_type, doc.filename)
