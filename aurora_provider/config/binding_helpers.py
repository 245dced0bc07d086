"""Binding helpers: variables whose value a program looks up when a job is picked.

Aurora's client bound some variables by asking another system, not the user: a ref such as
``{{docker.image[NAME][TAG]}}`` became the image pinned by digest, read from the cluster's
Docker registry. A helper is keyed by the first name of the refs it binds (``docker``).

When a job is picked, the refs still unbound after the file's and ``--bind``'s bindings whose
first name has a helper are handed to that helper, one call per distinct ref, and the job is
bound to the answers. A ref the user bound is never asked for, so ``--bind`` always wins.

The language does no I/O: the caller (the CLI) builds the helpers and passes them to the
loader; this module only finds the refs, calls, binds, and words a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aurora_provider.errors import AuroraError

from .errors import BindingError


@dataclass(frozen=True)
class HelperRef:
    """One ref a helper is asked to bind.

    :param address: the ref as written between the braces, e.g. ``docker.image[nginx][1.25]``.
    :param path: its components after the helper's name: ``("image", "nginx", "1.25")``.
    :param cluster: the cluster of the job being picked (which registry, which service...).
    """

    address: str
    path: tuple[str, ...]
    cluster: str


@dataclass(frozen=True)
class BindingHelper:
    """A way to bind the refs under one first name.

    :param resolve: the value of one ref; raises an ``AuroraError`` (one line) when it cannot.
    :param value_form: what a user may pass with ``--bind`` instead, named when it fails.
    """

    resolve: Callable[[HelperRef], str]
    value_form: str = "VALUE"


BindingHelpers = Mapping[str, BindingHelper]


def helper_refs(job: Any, helpers: BindingHelpers) -> list[Any]:
    """The unbound refs of ``job`` that one of ``helpers`` binds, in address order."""
    _, refs = job.interpolate()
    wanted = {ref for ref in refs if _first_name(ref) in helpers}
    return sorted(wanted, key=lambda ref: ref.address())


def apply_binding_helpers(job: Any, helpers: BindingHelpers, *, cluster: str,
                          source: str) -> Any:
    """``job`` with every ref its helpers bind bound to the helpers' answers.

    :param source: the configuration file, named in the error line when a helper fails.
    """
    values: dict[Any, str] = {}
    for ref in helper_refs(job, helpers):
        helper = helpers[_first_name(ref)]
        asked = HelperRef(ref.address(), tuple(str(c.value) for c in ref.components()[1:]),
                          cluster)
        try:
            values[ref] = helper.resolve(asked)
        except AuroraError as e:
            raise BindingError(
                f"{source}: cannot bind {{{{{asked.address}}}}}: {e}: pass "
                f"--bind '{asked.address}={helper.value_form}' instead"
            ) from e
    return job.bind(values) if values else job


def _first_name(ref: Any) -> str:
    return str(ref.components()[0].value)


__all__ = ["BindingHelper", "BindingHelpers", "HelperRef", "apply_binding_helpers", "helper_refs"]
