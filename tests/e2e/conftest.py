from __future__ import annotations

import pytest


@pytest.fixture
def clock() -> None:
    """The servers these tests start run on the machine's clock, and so do the tests."""
