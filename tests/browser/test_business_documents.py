"""Licence documents in real Chromium: the applicant uploads its certificate right after signing up
(a file that is not a PDF/PNG/JPEG is explained), the platform admin sees it on the business review,
downloads it through the ticketed route and approves the licence; the demo's pending applicant
shows its seeded certificate; the approved owner adds a document in Settings > Documents."""

from __future__ import annotations

import re
import uuid

from PIL import Image
from playwright.sync_api import expect

from reup_app.seed.demo import ADMIN_EMAIL
from reup_app.seed.demo_applicant import APPLICANT_LICENSE, APPLICANT_NAME, license_certificate_pdf
from tests.browser.admin_kit import sign_in

PASSWORD = "Correct-Horse-Battery-9"
expect.set_options(timeout=20_000)


def test_applicant_uploads_its_certificate_and_the_admin_reviews_and_approves_the_licence(browser, app_url, tmp_path):
    tag = uuid.uuid4().hex[:8].upper()
    business, email, number = f"Doc Test Dispensary {tag}", f"docs-{tag.lower()}@example.test", f"C10-{tag}-LIC"
    pdf, fake = tmp_path / "certificate.pdf", tmp_path / "scan.pdf"
    pdf.write_bytes(license_certificate_pdf(business, number, "2027-12-31"))
    fake.write_bytes(b"GIF89a not a pdf at all")
    png = tmp_path / "registration.png"
    Image.new("RGB", (60, 40), "white").save(png)
    owner_ctx = browser.new_context(base_url=app_url, accept_downloads=True)
    admin_ctx = browser.new_context(base_url=app_url, accept_downloads=True)
    try:
        owner = owner_ctx.new_page()
        owner.goto("/signup")
        owner.get_by_label("Business name").fill(business)
        owner.get_by_label("Business type").select_option("retailer")
        owner.get_by_label("License number", exact=True).fill(number)
        owner.get_by_label("License state", exact=True).select_option("CA")
        owner.get_by_label("License type", exact=True).select_option("adult_use_retail")
        owner.get_by_label("Full name").fill("Dana Docs")
        owner.get_by_label("Email").fill(email)
        owner.get_by_label("Password", exact=True).fill(PASSWORD)
        owner.get_by_label("Repeat password").fill(PASSWORD)
        owner.get_by_role("button", name="Apply for an account").click()
        expect(owner.get_by_test_id("signup-pending")).to_contain_text(business)

        # The upload step: kind and licence preselected; a fake PDF is refused with the reason.
        expect(owner.get_by_label("Kind of document")).to_have_value("state_license")
        expect(owner.get_by_label("Licence", exact=True)).to_contain_text(number)
        owner.locator("#document_upload input[type=file]").set_input_files([str(pdf), str(fake)])
        owner.get_by_role("button", name="Upload documents").click()
        expect(owner.get_by_role("alert")).to_contain_text("scan.pdf: That file is not a PDF, PNG or JPEG.")
        row = owner.get_by_test_id("document-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("certificate.pdf")
        expect(row.get_by_test_id("review-status")).to_have_text("pending")

        admin = admin_ctx.new_page()
        sign_in(admin, ADMIN_EMAIL)
        admin.goto("/admin/businesses")
        card = admin.get_by_test_id("business-review").filter(has_text=business)
        licence = card.get_by_test_id("licence-review")
        expect(licence).to_contain_text(number)
        expect(licence.get_by_test_id("review-document")).to_contain_text("certificate.pdf")
        with admin.expect_download() as download:
            licence.get_by_role("link", name="Download certificate.pdf").click()
        assert open(download.value.path(), "rb").read() == pdf.read_bytes()

        licence.get_by_role("button", name=f"Approve licence CA {number}").click()
        expect(admin.get_by_role("status")).to_contain_text(f"Licence CA {number} approved.")
        expect(licence.get_by_test_id("review-status").first).to_have_text("approved")
        expect(licence.get_by_role("button", name=re.compile("^Approve licence"))).to_have_count(0)
        # the business itself is still pending: approving it is the admin's separate decision
        expect(card.get_by_role("button", name="Approve", exact=True)).to_be_visible()

        # the demo's pending applicant shows its seeded certificate
        demo = admin.get_by_test_id("business-review").filter(has_text=APPLICANT_NAME)
        expect(demo.get_by_test_id("review-document")).to_contain_text(f"{APPLICANT_LICENSE} certificate.pdf")

        # once the business is approved, its owner keeps its documents up to date in Settings
        card.get_by_role("button", name="Approve", exact=True).click()
        expect(admin.get_by_role("status")).to_contain_text(f"{business} is approved")
        sign_in(owner, email, PASSWORD)
        owner.goto("/settings")
        owner.get_by_role("navigation", name="Settings sections").get_by_role("link", name="Documents").click()
        expect(owner).to_have_url(re.compile(r"/settings/documents/?$"))
        expect(owner.get_by_test_id("document-row").filter(has_text="certificate.pdf")).to_contain_text("approved")
        owner.get_by_label("Kind of document").select_option("business_registration")
        expect(owner.get_by_label("Licence", exact=True)).to_have_count(0)
        owner.locator("#document_upload input[type=file]").set_input_files(str(png))
        owner.get_by_role("button", name="Upload documents").click()
        expect(owner.get_by_role("status").filter(has_text="Uploaded registration.png")).to_be_visible()
        added = owner.get_by_test_id("document-row").filter(has_text="registration.png")
        expect(added).to_contain_text("Business registration")
        with owner.expect_download() as download:
            added.get_by_role("link", name="Download registration.png").click()
        assert open(download.value.path(), "rb").read() == png.read_bytes()
    finally:
        owner_ctx.close()
        admin_ctx.close()
