"""Business documents: /settings/documents (owners and admins) and the upload step at the end of
the sign-up (`SignupDocumentsState`, with the grant the sign-up gave, kept backend-only)."""

from __future__ import annotations

import reflex as rx

from reup_app.db import run_in_unit_of_work
from reup_app.formatting import format_datetime
from reup_app.models.enums import DocumentKind
from reup_app.services.documents import business_documents as docs_service
from reup_app.state.attempt import attempt
from reup_app.state.base import AppState, error_message
from reup_app.state.inputs import describe_rejected_files, parse_id

KIND_CHOICES = [(k, docs_service.KIND_LABELS[k]) for k in (k.value for k in DocumentKind)]
KIND_VALUES = [k for k, _label in KIND_CHOICES]
KIND_NAMES = [label for _k, label in KIND_CHOICES]
MAX_BYTES = docs_service.MAX_DOCUMENT_BYTES
ACCEPT = {"application/pdf": [".pdf"], "image/png": [".png"], "image/jpeg": [".jpg", ".jpeg"]}
UPLOAD_ID = "document_upload"


def document_dicts(rows) -> list[dict[str, str]]:
    return [
        {
            "id": str(d.id),
            "license_id": str(d.license_id or ""),
            "kind": d.kind_label,
            "filename": d.filename,
            "size": f"{d.size_bytes / 1024:.0f} KB",
            "uploaded": format_datetime(d.uploaded_at),
            "status": d.review_status,
            "reason": d.review_reason or "",
        }
        for d in rows
    ]


def license_dicts(rows) -> list[dict[str, str]]:
    return [{"id": str(r.id), "label": r.label, "status": r.review_status} for r in rows]


class _DocumentForm(AppState):
    """The upload form's choices; subclasses say where the files go."""

    licenses: list[dict[str, str]] = []
    documents: list[dict[str, str]] = []
    kind: str = DocumentKind.STATE_LICENSE.value
    license_id: str = ""
    doc_error: str = ""
    doc_notice: str = ""

    @rx.event
    def set_kind(self, value: str):
        self.kind = value if value in KIND_VALUES else DocumentKind.OTHER.value

    @rx.event
    def set_license_id(self, value: str):
        self.license_id = value if any(lic["id"] == value for lic in self.licenses) else ""

    @rx.event
    def files_rejected(self, rejections: list):
        """The browser refused files before upload (too large, wrong type)."""
        self.doc_notice = ""
        self.doc_error = describe_rejected_files(rejections, max_bytes=MAX_BYTES, types_text="a PDF, PNG or JPEG")

    def _show(self, result) -> None:
        licenses, rows = result
        self.licenses, self.documents = license_dicts(licenses), document_dicts(rows)
        if self.licenses and not self.license_id:
            self.license_id = self.licenses[0]["id"]

    def _upload_args(self) -> tuple[str, int | None]:
        lic = parse_id(self.license_id) if self.kind == DocumentKind.STATE_LICENSE.value else None
        return self.kind, lic

    async def _store_each(self, files, store) -> None:
        if not isinstance(files, list) or not files:
            self.doc_error, self.doc_notice = "Choose a file to upload.", ""
            return
        problems, added = [], []
        for f in files[:5]:
            data = await f.read(MAX_BYTES + 1)
            try:
                await store(f.filename or "document", data)
                added.append(str(f.filename or "document")[:60])
            except Exception as err:
                problems.append(error_message(err))
        self.doc_error = " ".join(problems)
        self.doc_notice = f"Uploaded {', '.join(added)}." if added else ""


class BusinessDocumentsState(_DocumentForm):
    @rx.event
    async def load(self):
        if (denied := await self._gate("entity.documents")) is not None:
            return denied
        self.doc_error = self.doc_notice = ""
        await self._reload()

    async def _reload(self) -> None:
        result, message = await attempt(self, docs_service.list_documents)
        if message:
            self.doc_error = message
            return
        self._show(result)

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        kind, lic = self._upload_args()

        async def store(name, data):
            await self._call(docs_service.upload_document, kind, lic, name, data)

        await self._store_each(files, store)
        await self._reload()
        return rx.clear_selected_files(UPLOAD_ID)

    @rx.event
    async def download(self, document_id: str):
        ident = parse_id(document_id)
        if ident is None:
            return
        ticket, self.doc_error = await attempt(self, docs_service.create_download_ticket, ident)
        if not self.doc_error:
            return rx.download(url=f"/api/documents/{ident}?ticket={ticket}")


class SignupDocumentsState(_DocumentForm):
    """The applicant's upload step right after the sign-up (they cannot sign in until approved)."""

    _grant: str = ""

    async def _begin(self, grant: str) -> None:
        self._grant, self.doc_error, self.doc_notice, self.license_id = grant, "", "", ""
        self.kind = DocumentKind.STATE_LICENSE.value
        await self._reload()

    async def _reload(self) -> None:
        if not self._grant:
            self.licenses, self.documents = [], []
            return
        try:
            self._show(await run_in_unit_of_work(None, docs_service.list_signup_documents, self._grant))
        except Exception as err:
            self.doc_error = error_message(err)

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        if not self._grant:
            self.doc_error = "Sign up first; then add your documents here."
            return
        kind, lic = self._upload_args()

        async def store(name, data):
            await run_in_unit_of_work(None, docs_service.upload_signup_document, self._grant, kind, lic, name, data)

        await self._store_each(files, store)
        await self._reload()
        return rx.clear_selected_files(UPLOAD_ID)

    def _forget(self) -> None:
        self._grant, self.licenses, self.documents = "", [], []
