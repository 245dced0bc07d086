"""The interface of ``api.thrift``, loaded once at runtime with thriftpy2.

``api()`` is the module thriftpy2 builds: its structs (``api().JobKey(role=...)``), enums
(``api().ResponseCode.OK``) and services (``api().AuroraAdmin``, which holds every method of
the two services it extends). Nothing is generated into the source tree.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType

import thriftpy2

IDL_PATH = Path(__file__).with_name("api.thrift")
# thriftpy2 requires the name to end in "_thrift"; it is the module pickles would name.
_MODULE_NAME = "aurora_api_thrift"


@functools.cache
def api() -> ModuleType:
    module: ModuleType = thriftpy2.load(str(IDL_PATH), module_name=_MODULE_NAME)
    return module


def service() -> type:
    """The widest service: AuroraAdmin, which extends AuroraSchedulerManager and
    ReadOnlyScheduler, so every method the scheduler answers is on it."""
    admin: type = api().AuroraAdmin
    return admin


def method_names() -> tuple[str, ...]:
    names: list[str] = getattr(service(), "thrift_services")  # noqa: B009 (set by thriftpy2)
    return tuple(names)
