"""The observer's HTML pages, rendered on the server from what the service returns.

Task list -> task -> process -> log tail; task -> sandbox browser -> file (or download).
The log page follows its log with the few lines of JavaScript below: it asks the JSON route
for what came after the last byte shown, once a second, and appends it as text.
"""

from __future__ import annotations

from collections.abc import Sequence

from executor.api import ProcessView

from .files import Chunk, Entry
from .html_base import (
    esc,
    facts,
    fmt_bytes,
    fmt_cpu,
    fmt_time,
    layout,
    link,
    path_url,
    seg,
    sparkline,
    state,
    table,
)
from .index import IndexedTask
from .listing import SORTS, TYPES, Page
from .resources import Sample
from .views import statuses

DEFAULT_PAGE = 20


def main_page(base: str, page: Page) -> str:
    num = page.num if page.num is not None else DEFAULT_PAGE
    counts = {"all": page.active + page.finished, "active": page.active,
              "finished": page.finished}  # fmt: skip
    sort_q = f"?sort={page.sort}" if page.sort != "launch" else ""
    tabs = " ".join(
        link(f"{base}/main/{t}{sort_q}", f"{t} ({counts[t]})", "on" if t == page.type else "")
        for t in TYPES)  # fmt: skip
    sorts = " ".join(
        link(f"{base}/main/{page.type}/{page.offset}/{num}?sort={s}", s,
             "on" if s == page.sort else "")
        for s in SORTS)  # fmt: skip
    rows = [
        [link(f"{base}/task/{seg(t.task_id)}", t.task_id), esc(t.view.job_key),
         esc(t.view.instance), state(t.view.state), esc(fmt_time(t.view.launch_time)),
         esc(len(t.view.processes))]
        for t in page.tasks
    ]  # fmt: skip
    nav = []
    if page.offset > 0:
        prev = max(0, page.offset - num)
        nav.append(link(f"{base}/main/{page.type}/{prev}/{num}{sort_q}", "« newer"))
    if page.offset + num < page.total:
        nav.append(link(f"{base}/main/{page.type}/{page.offset + num}/{num}{sort_q}", "older »"))
    shown = (f"{page.offset + 1}-{page.offset + len(page.tasks)} of {page.total}"
             if page.tasks else f"none of {page.total}")  # fmt: skip
    body = (
        f'<nav class="tabs">{tabs}</nav><p>sort by: {sorts} · showing {shown} '
        f'{" ".join(nav)}</p>'
        + table(["task", "job", "instance", "state", "launched", "processes"], rows, [2, 5])
    )
    return layout(base, f"Tasks ({page.type})", body)


def _process_rows(base: str, task: IndexedTask, latest: Sample | None) -> list[list[str]]:
    rows = []
    for name, process in sorted(task.view.processes.items()):
        cpu, rss = latest.processes.get(name, (None, None)) if latest else (None, None)
        last = process.runs[-1] if process.runs else None
        logs = ""
        if last is not None:
            where = f"{base}/logs/{seg(task.task_id)}/{seg(name)}/{last.run}"
            logs = f"{link(f'{where}/stdout', 'stdout')} {link(f'{where}/stderr', 'stderr')}"
        rows.append([link(f"{base}/process/{seg(task.task_id)}/{seg(name)}", name),
                     state(process.state), esc(len(process.runs)), esc(fmt_cpu(cpu)),
                     esc(fmt_bytes(rss)), logs])  # fmt: skip
    return rows


def task_page(base: str, task: IndexedTask, samples: Sequence[Sample]) -> str:
    v = task.view
    latest = samples[-1] if samples else None
    tid = seg(v.task_id)
    about = facts([
        ("job", esc(v.job_key)), ("instance", esc(v.instance)), ("host", esc(v.hostname)),
        ("state", state(v.state)), ("health", state(v.health)),
        ("launched", esc(fmt_time(v.launch_time))),
        ("ports", esc(", ".join(f"{k}={p}" for k, p in sorted(v.ports.items())) or None)),
        ("sandbox", f"{esc(v.sandbox)} ({link(f'{base}/browse/{tid}', 'browse')})"),
        ("message", esc(v.message)),
    ])  # fmt: skip
    resources = table(["", "now", "history"], [
        ["CPU", esc(fmt_cpu(latest.cpu if latest else None)),
         sparkline([s.cpu for s in samples])],
        ["RSS", esc(fmt_bytes(latest.rss if latest else None)),
         sparkline([float(s.rss) for s in samples])],
        ["disk", esc(fmt_bytes(latest.disk if latest else None)), ""],
    ])  # fmt: skip
    processes = table(["process", "state", "runs", "CPU", "RSS", "logs (last run)"],
                      _process_rows(base, task, latest), [2, 3, 4])  # fmt: skip
    history = table(["state", "at"], [[state(s), esc(fmt_time(t))] for s, t in statuses(v)])
    body = (f"{about}<h2>Resources</h2>{resources}<h2>Processes</h2>{processes}"
            f"<h2>Task states</h2>{history}")  # fmt: skip
    return layout(base, f"Task {v.task_id}", body)


def process_page(base: str, task: IndexedTask, process: ProcessView,
                 latest: Sample | None) -> str:  # fmt: skip
    tid, name = seg(task.task_id), seg(process.name)
    cpu, rss = latest.processes.get(process.name, (None, None)) if latest else (None, None)
    rows = [
        [esc(r.run), state(r.state), esc(r.pid), esc(fmt_time(r.start_time)),
         esc(fmt_time(r.stop_time)), esc(r.return_code), esc(r.reason),
         f"{link(f'{base}/logs/{tid}/{name}/{r.run}/stdout', 'stdout')} "
         f"{link(f'{base}/logs/{tid}/{name}/{r.run}/stderr', 'stderr')}"]
        for r in process.runs
    ]  # fmt: skip
    body = (
        f"<p>task {link(f'{base}/task/{tid}', task.task_id)} · state {state(process.state)}"
        f" · CPU {esc(fmt_cpu(cpu))} · RSS {esc(fmt_bytes(rss))}</p>"
        + table(["run", "state", "pid", "started", "stopped", "exit status", "reason", "logs"],
                rows, [0, 2, 5])
    )  # fmt: skip
    return layout(base, f"Process {process.name}", body)


# Follows the log: asks for what came after the last byte shown, appends it as text.
FOLLOW_JS = """
(function(){
  var pre=document.getElementById('log'),box=document.getElementById('follow');
  var info=document.getElementById('info'),url=pre.dataset.url;
  var offset=parseInt(pre.dataset.end,10);
  function poll(){
    if(!box.checked){setTimeout(poll,1000);return;}
    fetch(url+'?offset='+offset).then(function(r){return r.json();}).then(function(j){
      if(j.offset<offset){pre.textContent='';}
      var atEnd=window.innerHeight+window.scrollY>=document.body.scrollHeight-4;
      if(j.length>0){pre.appendChild(document.createTextNode(j.data));}
      offset=j.offset+j.length;info.textContent=offset+' of '+j.size+' bytes';
      if(atEnd){window.scrollTo(0,document.body.scrollHeight);}
    }).catch(function(){}).then(function(){setTimeout(poll,1000);});
  }
  window.scrollTo(0,document.body.scrollHeight);
  setTimeout(poll,1000);
})();
"""


def log_page(base: str, task_id: str, process: str, run: int, stream: str,
             chunk: Chunk) -> str:  # fmt: skip
    tid, name = seg(task_id), seg(process)
    json_url = f"{base}/j/logs/{tid}/{name}/{run}/{stream}"
    other = "stderr" if stream == "stdout" else "stdout"
    end = chunk.offset + chunk.length
    body = (
        f"<p>task {link(f'{base}/task/{tid}', task_id)} · process "
        f"{link(f'{base}/process/{tid}/{name}', process)} · run {esc(run)} · "
        f"{link(f'{base}/logs/{tid}/{name}/{run}/{other}', other)} · "
        f'<label><input type="checkbox" id="follow" checked> follow</label> · '
        f'<span id="info">{esc(end)} of {esc(chunk.size)} bytes</span>'
        + (" (the start is cut: the page shows the last bytes)" if chunk.offset else "")
        + f'</p><pre id="log" class="log" data-url="{esc(json_url)}" data-end="{end}">'
        f"{esc(chunk.data)}</pre>"
    )
    return layout(base, f"{process} run {run}: {stream}", body, FOLLOW_JS)


def _crumbs(base: str, task_id: str, path: str) -> str:
    tid = seg(task_id)
    crumbs = [link(f"{base}/browse/{tid}", "sandbox")]
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        crumbs.append(link(f"{base}/browse/{tid}/{path_url('/'.join(parts[:i + 1]))}", part))
    return " / ".join(crumbs)


def browse_page(base: str, task_id: str, path: str, entries: Sequence[Entry]) -> str:
    tid = seg(task_id)
    prefix = "/".join(p for p in path.split("/") if p)
    rows = []
    for e in entries:
        rel = path_url(f"{prefix}/{e.name}" if prefix else e.name)
        target = (link(f"{base}/browse/{tid}/{rel}", e.name + "/") if e.is_dir
                  else link(f"{base}/file/{tid}/{rel}", e.name))  # fmt: skip
        download = "" if e.is_dir else link(f"{base}/download/{tid}/{rel}", "download")
        rows.append([target, esc("" if e.is_dir else fmt_bytes(e.size)),
                     esc(fmt_time(e.mtime)), download])  # fmt: skip
    body = (f"<p>task {link(f'{base}/task/{tid}', task_id)} · {_crumbs(base, task_id, path)}"
            "</p>" + table(["name", "size", "modified", ""], rows, [1]))  # fmt: skip
    return layout(base, f"Sandbox of {task_id}", body)


def file_page(base: str, task_id: str, path: str, chunk: Chunk | None, size: int) -> str:
    """A text file's first bytes, escaped; a binary one (``chunk`` None) only as a link."""
    tid = seg(task_id)
    download = link(f"{base}/download/{tid}/{path_url(path)}", "download")
    head = f"<p>task {link(f'{base}/task/{tid}', task_id)} · {_crumbs(base, task_id, path)}"
    if chunk is None:
        body = f"{head}</p><p>A binary file ({esc(fmt_bytes(size))}): {download} it.</p>"
    else:
        cut = (f" (the first {esc(fmt_bytes(chunk.length))} of {esc(fmt_bytes(size))})"
               if chunk.length < size else "")  # fmt: skip
        body = f"{head} · {download}{cut}</p><pre>{esc(chunk.data)}</pre>"
    return layout(base, path, body)


def error_page(base: str, status: int, message: str) -> str:
    return layout(base, f"{status}", f"<p>{esc(message)}</p>")

