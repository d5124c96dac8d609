"""The most one operation may cost: schema.query_budget refuses more, and the settings refuse a
smaller PORTICO_API_KEY_BUDGET. Apart, so that reading the settings imports no graphql."""

from __future__ import annotations

MAX_COST = 1_000
