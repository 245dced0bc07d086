"""Building the observer's pages: escaping, links, tables, the page frame (no template engine).

Every function returns HTML that is safe to insert; anything that came from a task (ids,
names, paths, log text) goes through ``esc``. URLs are absolute from the app's root path
(``base``), so the pages also work when the app is mounted under a prefix.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence
from urllib.parse import quote

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#2d3e50;color:#fff;padding:8px 16px}
header a{color:#fff;text-decoration:none;margin-right:12px}
main{padding:12px 16px}
h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:16px 0 6px}
table{border-collapse:collapse;background:#fff;margin:4px 0 12px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
a{color:#1a5fb4}pre{background:#fff;border:1px solid #ddd;padding:8px;overflow:auto;
white-space:pre-wrap;word-break:break-all;max-height:75vh}pre.log{max-height:none}
.s-ACTIVE,.s-RUNNING,.s-healthy{color:#1a7f37}.s-FAILED,.s-LOST,.s-unhealthy{color:#c01c28}
.s-KILLED,.s-CLEANING,.s-FINALIZING,.s-KILLING{color:#9a6700}.muted{color:#777}
nav.tabs a{margin-right:10px}nav.tabs a.on{font-weight:bold;text-decoration:none;color:#222}
svg.spark{background:#fff;border:1px solid #ddd}
"""


def esc(value: object) -> str:
    return "-" if value is None else html.escape(str(value), quote=True)


def seg(value: object) -> str:
    """One URL path segment (a task id, a process name)."""
    return quote(str(value), safe="")


def path_url(path: str) -> str:
    """A sandbox path in a URL: each segment quoted, the slashes kept."""
    return quote(path, safe="/")


def link(href: str, text: object, cls: str = "") -> str:
    attr = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(href)}"{attr}>{esc(text)}</a>'


def state(value: object) -> str:
    return f'<span class="s-{esc(value)}">{esc(value)}</span>'


def fmt_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def fmt_cpu(cpu: float | None) -> str:
    return "-" if cpu is None else f"{cpu:.1f} %"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()
          ) -> str:  # fmt: skip
    """A table of cells that are already HTML; ``numeric`` columns align right."""
    right = set(numeric)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in right else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def facts(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table of a name and its value (already HTML)."""
    body = "".join(f"<tr><th>{esc(name)}</th><td>{value}</td></tr>" for name, value in rows)
    return f"<table><tbody>{body}</tbody></table>"


def sparkline(values: Sequence[float], *, width: int = 240, height: int = 40) -> str:
    """A small inline SVG line of ``values`` (oldest first); empty when fewer than two."""
    if len(values) < 2:
        return '<span class="muted">not enough samples yet</span>'
    top = max(values) or 1.0
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}"
                      for i, v in enumerate(values))  # fmt: skip
    return (f'<svg class="spark" width="{width}" height="{height}" role="img">'
            f'<polyline fill="none" stroke="#1a5fb4" stroke-width="1.5" points="{points}"/>'
            "</svg>")


def layout(base: str, title: str, body: str, script: str = "") -> str:
    """The page frame: a header linking to the task list, the title, the body."""
    js = f"<script>{script}</script>" if script else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)} - Aurora observer</title><style>{CSS}</style></head><body>"
        f"<header>{link(f'{base}/main', 'Aurora observer')}"
        f"{link(f'{base}/main/active', 'active')}{link(f'{base}/main/finished', 'finished')}"
        f"</header><main><h1>{esc(title)}</h1>{body}</main>{js}</body></html>"
    )
