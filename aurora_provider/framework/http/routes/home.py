"""``/``: a small page saying what this server is and where to go (no token needed).

The cluster's pages are in Airflow's UI (the "Aurora" entry); this one only points there
and at the machine-readable routes.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from aurora_provider import __version__
from aurora_provider.framework.http.deps import Services

router = APIRouter(tags=["probes"])

LINKS = (
    ("/health", "liveness (text)"),
    ("/leaderhealth", "200 on the leader (text)"),
    ("/metrics", "Prometheus metrics"),
    ("/vars", "the same stats under Aurora's names (text; /vars.json as JSON)"),
    ("/api/v1/cluster", "the cluster (JSON, bearer token)"),
    ("/api/v1/jobs", "the jobs (JSON, bearer token)"),
    ("/docs", "the API's reference (OpenAPI)"),
)


def home_page(cluster: str, backend: str, leader: bool, observer_url: str | None) -> str:
    """The page's HTML; every value printed is escaped."""
    rows = [("Cluster", cluster), ("Backend", backend),
            ("Leader", "yes" if leader else "no (a follower)"),
            ("Observer", observer_url or "none"), ("Version", __version__)]
    facts = "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    links = "\n".join(f'<li><a href="{escape(href)}">{escape(href)}</a> {escape(what)}</li>'
                      for href, what in LINKS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Aurora scheduler: {escape(cluster)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:50em}}
th{{text-align:left;padding-right:1em}}</style></head>
<body>
<h1>Aurora scheduler</h1>
<p>The scheduler of the Aurora cluster <b>{escape(cluster)}</b>: it runs jobs on its backend
and answers the operators, the CLIs and the UI over an authenticated HTTP API.</p>
<table>
{facts}
</table>
<h2>Where to look</h2>
<p>The cluster's pages (roles, jobs, tasks, updates, logs) are in Airflow's UI, under
<b>Aurora</b> in its navigation.</p>
<ul>
{links}
</ul>
</body></html>
"""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(services: Services) -> HTMLResponse:
    return HTMLResponse(home_page(services.cluster, services.backend_name,
                                  services.is_leader(), services.observer_url))
