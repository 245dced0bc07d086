"""The scheduler's OpenAPI document: FastAPI's, made true to what the routes answer.

* Every operation declares the errors it answers (``{"code", "message"}``, ``ErrorBody``),
  derived from the client's endpoint table (``aurora_provider.api.endpoints.errors_of``), not
  written per route; FastAPI's default 422 is dropped, since validation errors are 400s.
* Job key parts in paths carry the key-part rule, and a job's ``cluster`` is this
  scheduler's: what the routes accept is what the document says they accept.
* A method a path does not have is a 405 whose ``Allow`` lists every method it has.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from aurora_provider.api import models as m
from aurora_provider.api.endpoint import Endpoint
from aurora_provider.api.endpoints import ENDPOINTS, errors_of
from aurora_provider.api.errors import ApiError, SchedulerUnavailable
from aurora_provider.config.keys import MAX_KEY_PART_LENGTH

# KEY_PART without the names '.' and '..' (key_part_problem's rule), and without lookahead,
# which not every JSON Schema tool supports: at least one non-dot, or three dots and more.
KEY_PART_SCHEMA = {"type": "string", "maxLength": MAX_KEY_PART_LENGTH,
                   "pattern": r"^(?:[\w.\-]*[\w\-][\w.\-]*|\.{3,})$"}
_KEY_PARAMS = frozenset({"role", "environment", "name"})
_OPTIONAL = re.compile(r"\[([^\]]*)\]")

# Routes outside the client's table (probes), and what they may answer besides 200.
_PROBES: dict[str, tuple[type[ApiError], ...]] = {"/leaderhealth": (SchedulerUnavailable,)}


def _paths(endpoint: Endpoint[Any, Any]) -> list[str]:
    """The route paths of a table row (``[/{part}]``: with it and without)."""
    return sorted({_OPTIONAL.sub("", endpoint.path), _OPTIONAL.sub(r"\1", endpoint.path)})


def _declared_errors() -> dict[tuple[str, str], list[type[ApiError]]]:
    found = {("get", path): list(errors) for path, errors in _PROBES.items()}
    for endpoint in ENDPOINTS.values():
        for path in _paths(endpoint):
            found[(endpoint.method.lower(), path)] = errors_of(endpoint)
    return found


def _first_line(error: type[ApiError]) -> str:
    return (error.__doc__ or error.code).strip().splitlines()[0]


def document(app: FastAPI, cluster: str) -> dict[str, Any]:
    """The OpenAPI document of ``app``, whose routes serve cluster ``cluster``."""
    spec = get_openapi(title=app.title, version=app.version, description=app.description,
                       routes=app.routes)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = m.ErrorBody.model_json_schema()
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    declared = _declared_errors()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            responses.pop("422", None)
            for error in declared.get((method, path), ()):
                responses[str(error.status)] = {"description": _first_line(error),
                                                "content": error_body}
            for param in operation.get("parameters", ()):
                if param["in"] == "path" and param["name"] in _KEY_PARAMS:
                    param["schema"] = {**param["schema"], **KEY_PART_SCHEMA}
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for name, schema in schemas.items():
        if name.startswith("JobKeyModel"):
            schema["properties"]["cluster"] = {**schema["properties"]["cluster"],
                                               "enum": [cluster]}
    return spec


def install(app: FastAPI, cluster: str) -> None:
    """Serve :func:`document` at ``/openapi.json`` (built once, on first request)."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, cluster)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(app: FastAPI, scope: Scope) -> str:
    """The ``Allow`` of a 405: the methods of the path's own routes, not only of the first
    one Starlette tried (``/restart`` has a GET and a POST route). The path's own are those
    with the fewest parameters: ``/updates/R/E/N/pause`` is the pause route's, not a GET of
    an update whose id is "pause"."""
    matching: list[APIRoute] = []
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "\0"})  # a method no route has
        if match is not Match.NONE and isinstance(route, APIRoute):
            matching.append(route)
    fewest = min((len(r.param_convertors) for r in matching), default=0)
    methods = {m for r in matching if len(r.param_convertors) == fewest for m in r.methods}
    return ", ".join(sorted(methods))
