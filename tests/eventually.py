"""``eventually()``: the one way tests wait for something another process makes true.

It polls; it asserts no timing (speed is for ``bench/``). The timeout only bounds how long
a broken test hangs, so it is generous.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(predicate: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.05,
               what: str = "", ignore: tuple[type[BaseException], ...] = ()) -> T:
    """``predicate()``'s first truthy value, polling every ``interval`` seconds.

    Exceptions listed in ``ignore`` count as "not yet" (a server that does not listen yet);
    after ``timeout`` seconds the last one is re-raised, or ``AssertionError`` names ``what``.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except ignore:
            if time.monotonic() > deadline:
                raise
        else:
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what or predicate}")
        time.sleep(interval)
