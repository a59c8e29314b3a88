"""A pending applicant for the demo: a retailer waiting for approval, with a licence and its
certificate as an uploaded PDF, so the platform admin's business review has something to review."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlmodel import Session

from reup_app.models import BusinessDocument, Entity, License, Membership, User
from reup_app.models.enums import DocumentKind, EntityKind, EntityStatus, LicenseStatus, Role
from reup_app.services import pdf_kit, private_files

APPLICANT_NAME = "Redwood Leaf Dispensary"
APPLICANT_EMAIL = "owner@redwoodleaf.demo"
APPLICANT_LICENSE = "C10-0002890-LIC"


def license_certificate_pdf(business: str, number: str, expires: str) -> bytes:
    """A one-page stand-in for a state licence certificate (clearly marked as demo)."""
    pdf = pdf_kit.new_document(f"Licence certificate {number}", "ReUp demo")
    pdf_kit.heading(pdf, "Commercial Cannabis License (DEMO)")
    pdf_kit.facts(
        pdf,
        [
            ("Licensee", business),
            ("License", number),
            ("Type", "Adult-use retail"),
            ("Expires", expires),
            ("Issued by", "Demo Department of Cannabis Control"),
        ],
        label_width=90,
    )
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(0, 12, "Generated for the ReUp demo. Not a real licence.")
    return bytes(pdf.output())


def add_pending_applicant(session: Session, password_hash: str, now: datetime) -> Entity:
    """The applicant, its owner (who can sign in only after approval), its licence and certificate."""
    applied = now - timedelta(days=1, hours=3)
    entity = Entity(
        name=APPLICANT_NAME,
        kind=EntityKind.RETAILER.value,
        status=EntityStatus.PENDING.value,
        email=APPLICANT_EMAIL,
        state="CA",
        city="Eureka",
        created_at=applied,
        updated_at=applied,
    )
    owner = User(
        email=APPLICANT_EMAIL,
        full_name="Jonah Reyes",
        password_hash=password_hash,
        created_at=applied,
        updated_at=applied,
    )
    session.add(entity)
    session.add(owner)
    session.flush()
    expires = (now + timedelta(days=300)).date()
    lic = License(
        entity_id=entity.id,
        state="CA",
        number=APPLICANT_LICENSE,
        license_type="adult_use_retail",
        status=LicenseStatus.ACTIVE,
        expires_on=expires,
        premises_name=APPLICANT_NAME,
        premises_city="Eureka",
        created_at=applied,
        updated_at=applied,
    )
    session.add(Membership(user_id=owner.id, entity_id=entity.id, role=Role.OWNER.value, created_at=applied))
    session.add(lic)
    session.flush()
    data = license_certificate_pdf(APPLICANT_NAME, APPLICANT_LICENSE, expires.isoformat())
    key = f"documents/demo/{APPLICANT_LICENSE}.pdf"
    private_files.store(key, data)
    session.add(
        BusinessDocument(
            entity_id=entity.id,
            license_id=lic.id,
            kind=DocumentKind.STATE_LICENSE.value,
            filename=f"{APPLICANT_LICENSE} certificate.pdf",
            content_type="application/pdf",
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            uploaded_by_user_id=owner.id,
            uploaded_at=applied + timedelta(minutes=5),
        )
    )
    return entity
