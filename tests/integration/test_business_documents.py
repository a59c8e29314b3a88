"""Business documents for the admin's review: upload checked by content, private storage, who may
list and download (tickets through the API route), the sign-up upload grant, and the platform
admin's approval or rejection of each licence (audited, owners e-mailed)."""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from reup_app.api.routes import build_api
from reup_app.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationError
from reup_app.models import AuditLog, BusinessDocument, EmailOutbox, License, Notification
from reup_app.seed.demo_applicant import license_certificate_pdf
from reup_app.services.documents import business_documents as docs
from reup_app.services.documents import license_review
from reup_app.services.identity import signup
from reup_app.settings import reset_settings_cache
from tests.identity_support import admin_principal, signup_kwargs
from tests.integration.orderkit import call, fresh, make_buyer, make_seller

pytestmark = pytest.mark.mysql

PDF = license_certificate_pdf("Test Co", "C11-TEST-LIC", "2027-12-31")


@pytest.fixture
def media(tmp_path, monkeypatch):
    monkeypatch.setenv("REUP_MEDIA_DIR", str(tmp_path / "media"))
    reset_settings_cache()
    yield tmp_path / "media"
    monkeypatch.delenv("REUP_MEDIA_DIR")
    reset_settings_cache()


@pytest.fixture
def client(engine):
    return TestClient(build_api())


def test_owner_uploads_a_certificate_stored_privately_with_its_hash(engine, session, media):
    seller = make_seller(session)
    row = call(engine, seller.owner, docs.upload_document, "state_license", seller.license.id, "cert.pdf", PDF)
    assert (row.content_type, row.size_bytes, row.sha256) == (
        "application/pdf",
        len(PDF),
        hashlib.sha256(PDF).hexdigest(),
    )
    assert row.review_status == "pending" and row.license_id == seller.license.id
    with fresh(engine) as s:
        stored = s.get(BusinessDocument, row.id)
    assert stored.storage_key.startswith(f"documents/{seller.id}/") and (media / stored.storage_key).read_bytes() == PDF
    assert stored.uploaded_by_user_id == seller.owner.user_id
    licenses, rows = call(engine, seller.p["admin"], docs.list_documents)
    assert [lic.id for lic in licenses] == [seller.license.id] and [r.id for r in rows] == [row.id]
    # the upload is in the business's audit trail
    with fresh(engine) as s:
        audit = s.exec(
            select(AuditLog).where(AuditLog.table_name == "business_documents", AuditLog.row_id == str(row.id))
        ).one()
    assert audit.subject_entity_id == seller.id and audit.actor_user_id == seller.owner.user_id


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("licence.pdf", b"GIF89a" + b"\x00" * 40, "licence.pdf: That file is not a PDF, PNG or JPEG. Upload a PDF"),
        ("virus.pdf", b"MZ\x90\x00" + b"\x00" * 40, "virus.pdf: That file is not a PDF, PNG or JPEG"),
        ("cut.pdf", PDF[: len(PDF) // 2], "cut.pdf: That PDF is incomplete"),
        (
            "big.pdf",
            b"%PDF-1.4\n" + b"0" * docs.MAX_DOCUMENT_BYTES + b"\n%%EOF",
            "big.pdf is 10.0 MB; documents can be at most 10 MB",
        ),
        ("empty.pdf", b"", "empty.pdf is empty"),
    ],
)
def test_a_file_that_is_not_a_pdf_png_or_jpeg_is_refused_with_a_clear_message(engine, session, media, name, data, says):
    seller = make_seller(session)
    with pytest.raises(ValidationError) as err:
        call(engine, seller.owner, docs.upload_document, "other", None, name, data)
    assert str(err.value).startswith(says)
    assert not (media / "documents" / str(seller.id)).exists() or not any(
        (media / "documents" / str(seller.id)).iterdir()
    )


def test_other_roles_and_other_businesses_are_refused(engine, session, media):
    seller, buyer = make_seller(session), make_buyer(session)
    row = call(engine, seller.owner, docs.upload_document, "state_license", seller.license.id, "cert.pdf", PDF)
    for role in ("sales", "viewer", "fulfillment"):
        with pytest.raises(PermissionDenied):
            call(engine, seller.p[role], docs.upload_document, "other", None, "x.pdf", PDF)
        with pytest.raises(PermissionDenied):
            call(engine, seller.p[role], docs.list_documents)
    with pytest.raises(PermissionDenied):
        call(engine, buyer.owner, docs.list_documents, seller.id)
    with pytest.raises(NotFound):  # another business's licence
        call(engine, buyer.owner, docs.upload_document, "state_license", seller.license.id, "x.pdf", PDF)
    with pytest.raises(NotFound):
        call(engine, buyer.owner, docs.create_download_ticket, row.id)
    with pytest.raises(PermissionDenied):  # only platform admins review
        call(engine, seller.owner, license_review.review_license, seller.license.id, "approve")
    with pytest.raises(ValidationError, match="which licence"):
        call(engine, seller.owner, docs.upload_document, "state_license", None, "x.pdf", PDF)


def test_download_goes_through_a_single_use_ticket_for_owner_and_platform_admin(engine, session, media, client):
    seller, buyer = make_seller(session), make_buyer(session)
    row = call(engine, seller.owner, docs.upload_document, "state_license", seller.license.id, "cert.pdf", PDF)
    ticket = call(engine, seller.owner, docs.create_download_ticket, row.id)
    assert client.get(f"/api/documents/{row.id}").status_code == 401  # no ticket
    r = client.get(f"/api/documents/{row.id}?ticket={ticket}")
    assert r.status_code == 200 and r.content == PDF and r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"] and "no-store" in r.headers["cache-control"]
    assert client.get(f"/api/documents/{row.id}?ticket={ticket}").status_code == 401  # used
    other = call(engine, buyer.owner, docs.upload_document, "other", None, "mine.png", _png())
    ticket = call(engine, seller.owner, docs.create_download_ticket, row.id)
    assert client.get(f"/api/documents/{other.id}?ticket={ticket}").status_code == 404  # for another file

    admin = admin_principal(session)
    ticket = call(engine, admin, docs.create_download_ticket, row.id)
    r = client.get(f"/api/documents/{row.id}?ticket={ticket}")
    assert r.status_code == 200 and r.content == PDF


def test_the_applicant_uploads_at_sign_up_with_the_grant_only(engine, session, media):
    from reup_app.db import unit_of_work

    with unit_of_work(None, engine=engine) as s:
        result = signup.signup_business(s, **signup_kwargs())
    grant = docs.signup_grant(result.entity_id, result.user_id)
    with unit_of_work(None, engine=engine) as s:
        row = docs.upload_signup_document(s, grant, "state_license", result.license_ids[0], "cert.pdf", PDF)
    assert row.entity_id == result.entity_id
    with unit_of_work(None, engine=engine) as s:
        licenses, rows = docs.list_signup_documents(s, grant)
    assert [r.id for r in rows] == [row.id] and licenses[0].review_status == "pending"

    forged = grant[:-1] + ("0" if grant[-1] != "0" else "1")
    old = docs.signup_grant(result.entity_id, result.user_id, now=time.time() - docs.GRANT_SECONDS - 5)
    for bad in (forged, old, "", "1.2.3"):
        with pytest.raises(NotAuthenticated), unit_of_work(None, engine=engine) as s:
            docs.upload_signup_document(s, bad, "other", None, "x.pdf", PDF)
    admin = admin_principal(session)
    call(engine, admin, signup.approve_entity, result.entity_id)
    with pytest.raises(ValidationError, match="already decided"), unit_of_work(None, engine=engine) as s:
        docs.upload_signup_document(s, grant, "other", None, "x.pdf", PDF)


def test_admin_approves_or_rejects_each_licence_owner_is_emailed_and_it_is_audited(engine, session, media):
    seller = make_seller(session)
    owner_email = _owner_email(engine, seller)
    row = call(engine, seller.owner, docs.upload_document, "state_license", seller.license.id, "cert.pdf", PDF)
    admin = admin_principal(session)
    details = call(engine, admin, license_review.review_details, [seller.id])[seller.id]
    assert [d.id for d in details.licenses[0].documents] == [row.id] and details.licenses[
        0
    ].license.review_status == "pending"

    with pytest.raises(ValidationError, match="reason"):
        call(engine, admin, license_review.review_license, seller.license.id, "reject", " ")
    call(engine, admin, license_review.review_license, seller.license.id, "reject", "Certificate is expired")
    with fresh(engine) as s:
        lic, doc = s.get(License, seller.license.id), s.get(BusinessDocument, row.id)
        mail = s.exec(
            select(EmailOutbox).where(EmailOutbox.to_address == owner_email).order_by(EmailOutbox.id.desc())
        ).first()
        audit = s.exec(
            select(AuditLog)
            .where(AuditLog.table_name == "licenses", AuditLog.row_id == str(lic.id))
            .order_by(AuditLog.id.desc())
        ).first()
    assert (lic.review_status, lic.review_reason, doc.review_status) == (
        "rejected",
        "Certificate is expired",
        "rejected",
    )
    assert lic.reviewed_by_user_id == admin.user_id and "Certificate is expired" in mail.body
    assert audit.actor_user_id == admin.user_id and audit.subject_entity_id == seller.id
    assert audit.changes and "review_status" in audit.changes

    with fresh(engine) as s:  # the owners and admins have it in the app too, the others not
        told = s.exec(
            select(Notification).where(Notification.kind == "license.reviewed", Notification.entity_id == seller.id)
        ).all()
    assert {n.user_id for n in told} == {seller.owner.user_id, seller.p["admin"].user_id}
    assert (
        told[0].title == f"Licence CA {seller.license.number} not accepted" and told[0].body == "Certificate is expired"
    )

    call(engine, admin, license_review.review_license, seller.license.id, "approve")
    with fresh(engine) as s:
        assert s.get(License, seller.license.id).review_status == "approved"
        assert s.get(BusinessDocument, row.id).review_status == "approved"
        mails = s.exec(select(EmailOutbox).where(EmailOutbox.to_address == owner_email)).all()
    assert any("approved" in m.subject for m in mails)


def _owner_email(engine, party) -> str:
    from reup_app.models import User

    with fresh(engine) as s:
        return s.get(User, party.owner.user_id).email


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(out, "PNG")
    return out.getvalue()
