"""The platform admin's review of a business's licences and documents.

Each licence is approved or rejected on its own, a rejection with the reason the owners are
e-mailed; the licence's documents take the same decision. Documents not tied to a licence
(registration, other) are reviewed one by one. The ORM trail audits every decision (who, when,
before/after), with the business as subject, so the business sees it in its own trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import NotFound, ValidationError
from reup_app.events.core import emit
from reup_app.models import BusinessDocument, Entity, License, Membership, User
from reup_app.models.enums import DocumentReview, Role
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import parse_int
from reup_app.services.documents.business_documents import DocumentRow, LicenseChoice, documents_of, license_label
from reup_app.services.notifications.email import send_email

LICENSE_REVIEWED = "license.reviewed"
DECISIONS = {"approve": DocumentReview.APPROVED.value, "reject": DocumentReview.REJECTED.value}


def _decision(decision: object, reason: object) -> tuple[str, str | None]:
    if decision not in DECISIONS:
        raise ValidationError("Choose approve or reject.", "decision")
    why = " ".join(reason.split())[:255] if isinstance(reason, str) else ""
    if decision == "reject" and len(why) < 3:
        raise ValidationError("Give the reason for the rejection (the business will read it).", "reason")
    if any(ord(c) < 32 for c in why):
        raise ValidationError("The reason contains invalid characters.", "reason")
    return DECISIONS[decision], why or None


def _event(what: str, status: str, why: str | None) -> dict:
    """The notification's own words (inbox shows a self-described event as it is)."""
    verdict = "approved" if status == DocumentReview.APPROVED else "not accepted"
    return {"title": f"{what} {verdict}", "body": why or "", "link": "/settings/documents"}


def _tell_owners(session: Session, entity_id: int, subject: str, text: str, event: dict) -> None:
    """E-mail the owners and notify the owners/admins in the app (their bell, live)."""
    emit(session, LICENSE_REVIEWED, entity_ids=[entity_id], payload=event)
    rows = session.execute(
        select(col(User.email), col(User.full_name))
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(
            col(Membership.entity_id) == entity_id,
            col(Membership.role) == Role.OWNER.value,
            col(User.is_active).is_(True),
        )
    ).all()
    for email, name in rows:
        send_email(session, email, subject, f"Hello {name},\n\n{text}\n")


def _message(status: str, what: str, business: str, why: str | None) -> tuple[str, str]:
    if status == DocumentReview.APPROVED:
        return f"{what} approved on ReUp", f"ReUp reviewed {what} of {business} and approved it."
    return (
        f"{what} needs attention on ReUp",
        f"ReUp reviewed {what} of {business} and could not accept it.\n\nReason: {why}\n\n"
        "Upload a corrected document in Settings > Documents, or reply to this e-mail.",
    )


def review_license(session: Session, principal: Principal, license_id: int, decision: str, reason: str = "") -> License:
    """Platform admin: approve or reject one licence (and its documents); the owners are e-mailed."""
    lic = session.execute(
        select(License).where(col(License.id) == parse_int(license_id, "license_id")).with_for_update()
    ).scalar_one_or_none()
    if lic is None:
        raise NotFound("That licence was not found.")
    authorize(principal, "entity.approve", lic.entity_id)
    status, why = _decision(decision, reason)
    now = utcnow()
    lic.review_status, lic.review_reason, lic.reviewed_at, lic.reviewed_by_user_id = status, why, now, principal.user_id
    lic.updated_at = now
    session.add(lic)
    docs = session.execute(select(BusinessDocument).where(col(BusinessDocument.license_id) == lic.id)).scalars()
    for doc in docs:
        doc.review_status, doc.review_reason, doc.reviewed_at = status, why, now
        doc.reviewed_by_user_id = principal.user_id
        session.add(doc)
    session.flush()
    business = session.get(Entity, lic.entity_id)
    what = f"licence {lic.state} {lic.number}"
    subject, text = _message(status, what, business.name if business else "", why)
    _tell_owners(session, lic.entity_id, subject, text, _event(f"Licence {lic.state} {lic.number}", status, why))
    return lic


def review_document(
    session: Session, principal: Principal, document_id: int, decision: str, reason: str = ""
) -> BusinessDocument:
    """Platform admin: approve or reject one document; the owners are e-mailed."""
    doc = session.get(BusinessDocument, parse_int(document_id, "document_id"), with_for_update=True)
    if doc is None:
        raise NotFound("That document was not found.")
    authorize(principal, "entity.approve", doc.entity_id)
    status, why = _decision(decision, reason)
    doc.review_status, doc.review_reason, doc.reviewed_at = status, why, utcnow()
    doc.reviewed_by_user_id = principal.user_id
    session.add(doc)
    session.flush()
    business = session.get(Entity, doc.entity_id)
    subject, text = _message(status, f"the document {doc.filename}", business.name if business else "", why)
    _tell_owners(session, doc.entity_id, subject, text, _event(f"Document {doc.filename}", status, why))
    return doc


@dataclass(frozen=True)
class LicenseUnderReview:
    license: LicenseChoice
    review_reason: str | None
    documents: tuple[DocumentRow, ...]


@dataclass(frozen=True)
class DocumentsUnderReview:
    licenses: tuple[LicenseUnderReview, ...]
    other_documents: tuple[DocumentRow, ...]  # not tied to a licence


def review_details(session: Session, principal: Principal, entity_ids: list[int]) -> dict[int, DocumentsUnderReview]:
    """Platform admin: each business's licences with their documents, and its other documents."""
    authorize(principal, "entity.approve", None)
    ids = sorted({int(e) for e in entity_ids})[:500]
    docs = documents_of(session, ids)
    rows = session.execute(
        select(License).where(col(License.entity_id).in_(ids or [0])).order_by(col(License.id))
    ).scalars()
    licenses: dict[int, list[LicenseUnderReview]] = {}
    for r in rows:  # one query for every business's licences
        mine = tuple(d for d in docs.get(r.entity_id, []) if d.license_id == r.id)
        choice = LicenseChoice(r.id, license_label(r), r.review_status)
        licenses.setdefault(r.entity_id, []).append(LicenseUnderReview(choice, r.review_reason, mine))
    out = {}
    for eid in ids:
        other = tuple(d for d in docs.get(eid, []) if d.license_id is None)
        out[eid] = DocumentsUnderReview(tuple(licenses.get(eid, [])), other)
    return out
