"""Server-side rendering: one Jinja environment (autoescaped) over the packaged templates."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from observer_plugin.observer.html_base import fmt_bytes

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(float(epoch), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters["when"] = _when
ENV.filters["size"] = fmt_bytes


def root_of(request: Request) -> str:
    """Where the app is mounted (``/aurora`` under Airflow), for the pages' links."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def page(request: Request, template: str, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    html = ENV.get_template(template).render(root=root_of(request), **context)
    return HTMLResponse(html, status_code=status_code)


def message(request: Request, title: str, line: str, status_code: int) -> HTMLResponse:
    """A page of one line: what is missing or wrong (404s, refusals, unreachable parts)."""
    return page(request, "message.html", status_code, title=title, line=line)
