"""``tests/scheduler/test_ops_core.py``'s store tests on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.scheduler import test_ops_core
from tests.scheduler.on_postgres import store_tests

pytestmark = pytest.mark.integration  # a real PostgreSQL server

globals().update(store_tests(test_ops_core))


@pytest.fixture
def store_url(postgres_url: str) -> str:
    return postgres_url
