"""URLs that Portico puts in emails and fields, from the public and staff app addresses."""

from __future__ import annotations

import base64
from dataclasses import dataclass


@dataclass(frozen=True)
class Links:
    public_base_url: str = "http://127.0.0.1:8000"
    staff_app_url: str = "http://127.0.0.1:8000"

    def portal(self, portal_name: str) -> str:
        return f"{self.public_base_url}/portal/{portal_name}"

    def portal_action(self, portal_name: str, action: str, token: str) -> str:
        # In the fragment, so the token never reaches a server log or a Referer header.
        return f"{self.portal(portal_name)}/{action}#token={token}"

    def staff_activity(self, activity_id: int) -> str:
        return f"{self.staff_app_url}/activity/{_global_id('Activity', activity_id)}"


_links = Links()


def configure(links: Links) -> None:
    global _links
    _links = links


def current() -> Links:
    return _links


def _global_id(type_name: str, row_id: int) -> str:
    # The Relay global id, spelled as strawberry.relay.to_base64 spells it; the standard
    # library's, so that the commands that send email do not import strawberry to link to it.
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()
