"""What outbox rows attach, turned into files when the email is sent."""

from __future__ import annotations

from typing import Any

from integrations.outbox import Attachment, AttachmentGone
from models.documents import SalesDocument


async def load_attachment(spec: dict[str, Any]) -> Attachment:
    from pdf.documents import document_pdf  # the renderer's process pool starts on first use

    document = await SalesDocument.get_or_none(id=spec.get("document_id") or 0)
    if document is None:
        raise AttachmentGone(f"Attachment {spec!r} no longer exists")
    return Attachment(f"{document.number}.pdf", await document_pdf(document))
