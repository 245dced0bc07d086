"""The store's test suite again, on PostgreSQL: each module here takes the tests of one
SQLite module that use a store (``store_url``, directly or through a fixture of theirs) and
runs them with ``store_url`` naming a new PostgreSQL database, in the integration tier."""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

from _pytest.fixtures import getfixturemarker


def store_tests(module: ModuleType) -> dict[str, Any]:
    """``module``'s fixtures, and those of its tests that reach ``store_url``."""
    def params(obj: Any) -> set[str]:
        function = getattr(obj, "_get_wrapped_function", lambda: obj)()
        return set(inspect.signature(function).parameters)

    fixtures = {name: obj for name, obj in vars(module).items()
                if getfixturemarker(obj) is not None}
    using = {"store_url"} | {name for name, obj in fixtures.items()
                             if "store_url" in params(obj)}
    tests = {name: obj for name, obj in vars(module).items()
             if name.startswith("test_") and callable(obj) and params(obj) & using}
    return {**fixtures, **tests}
