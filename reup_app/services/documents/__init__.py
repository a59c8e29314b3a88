"""Business documents: what a business uploads for its review (licence certificates, registration)
and the platform admin's review of each licence.

- `business_documents`: upload (signed-in owners/admins, or the applicant right after sign-up with
  the grant the sign-up gave), list, and download through single-use tickets.
- `license_review`: platform admins approve or reject each licence (and other documents) with a
  reason; the owners are e-mailed; every change is audited by the ORM trail.
"""
