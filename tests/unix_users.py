"""Which Unix users this machine has: the tests of tasks run as their role's user need one."""

from __future__ import annotations

import pwd


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
