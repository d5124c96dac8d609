"""The PDF of a statement of accounts. The sections come computed (see
`resolvers.statements`) as plain mappings; this module adds the parties and renders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from integrations.templating import locale_for
from pdf import cache
from pdf.documents import customer_and_organization, customer_block, organization_block


async def statement_pdf(
    customer_id: int, start: date, end: date, sections: Sequence[Mapping[str, Any]]
) -> bytes:
    customer, organization = await customer_and_organization(customer_id)
    locale = locale_for(customer.portal_language)
    context = {
        "start": start,
        "end": end,
        "organization": organization_block(organization, locale),
        "customer": customer_block(customer, locale),
        "sections": [dict(section) for section in sections],
    }
    language = str(locale)
    stem = f"statement-{customer_id}-{start.isoformat()}-{end.isoformat()}-{language}"
    # The digest in the cache's file name changes with any entry, so a new payment re-renders.
    return await cache.cached_pdf(stem, "statement.html", context, language)
