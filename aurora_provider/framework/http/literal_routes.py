"""A path's literal segment wins over another route's parameter, whatever the method.

Starlette serves the first route whose path and method both match, so a GET of
``/updates/R/E/N/pause`` (a POST-only action) would be served by the GET of an update whose
id is "pause". Each route whose parameters could swallow another route's literal segment
is told which routes those are, and steps aside when one of them matches the path: the
router then finds that route with the wrong method, and answers 405 with its ``Allow``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

_PARAMETER = re.compile(r"{[^}]+}")
Matched = tuple[Match, MutableMapping[str, Any]]


def prefer_literal_segments(app: FastAPI) -> None:
    """Install the rule on every route of ``app`` that another route's literal segment
    shadows (checked once here; a request pays only on such routes)."""
    routes = [r for r in app.router.routes if isinstance(r, APIRoute)]
    for route in routes:
        literal = [other for other in routes if other is not route
                   and len(other.param_convertors) < len(route.param_convertors)
                   and route.path_regex.match(_PARAMETER.sub("x", other.path_format))]
        if literal:
            # An instance attribute, so the router's ``route.matches(scope)`` calls it.
            setattr(route, "matches", _stepping_aside(route.matches, literal))  # noqa: B010


def _stepping_aside(matches: Callable[[Scope], Matched],
                    literal: Sequence[APIRoute]
                    ) -> Callable[[Scope], Matched]:
    def matches_unless_shadowed(scope: Scope) -> Matched:
        found = matches(scope)
        if found[0] is not Match.NONE:
            anything = {**scope, "method": "\0"}  # a method no route has: path only
            if any(other.matches(anything)[0] is not Match.NONE for other in literal):
                return Match.NONE, {}
        return found

    return matches_unless_shadowed
