"""What outbox rows attach, turned into files when the email is sent."""

from __future__ import annotations

from typing import Any

from integrations.outbox import Attachment, AttachmentGone
from models.documents import SalesDocument
from pdf.worker import RenderTooLarge


async def load_attachment(spec: dict[str, Any]) -> Attachment:
    from pdf.documents import document_pdf  # the renderer's process pool starts on first use

    document = await SalesDocument.get_or_none(id=spec.get("document_id") or 0)
    if document is None:
        raise AttachmentGone(f"Attachment {spec!r} no longer exists")
    try:
        pdf = await document_pdf(document)
    except RenderTooLarge as exc:  # no retry would render it
        raise AttachmentGone(f"{document.number}.pdf is too large to print: {exc}") from exc
    return Attachment(f"{document.number}.pdf", pdf)
