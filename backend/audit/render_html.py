"""An audit report (`backend.audit.report`) as one self-contained HTML page.

Invariants:
- Renders the report dict only; adds nothing that is not in it.
- Every value goes through `html.escape` (`_e`) before it reaches the page: payloads carry
  user and model text, and a report must never run what it reports.
- No scripts, no external assets: the page is readable offline, attachable to a ticket, and
  safe under a `default-src 'none'` policy (its CSS is inline).
"""

from __future__ import annotations

import html
import json
from typing import Any

from backend.audit import wording
from backend.audit.wording import plain

__all__ = ["render_html"]

_CSS = """
:root{color-scheme:light;--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#fbfbfa;
--ok:#e3f4e8;--ok-ink:#1f6f3d;--bad:#fde8e8;--bad-ink:#9b1c1c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:2rem 1.25rem 4rem}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.2rem;margin:2rem 0 .6rem;
border-bottom:1px solid var(--line);padding-bottom:.3rem}h3{font-size:1.02rem;margin:1.2rem 0 .4rem}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em}
pre{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem;
white-space:pre-wrap;word-break:break-word;margin:.3rem 0}
.integrity{border-radius:8px;padding:.9rem 1.1rem;margin:0 0 1.5rem;font-size:1.02rem}
.integrity.ok{background:var(--ok);color:var(--ok-ink)}
.integrity.bad{background:var(--bad);color:var(--bad-ink);border:2px solid var(--bad-ink)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.4rem 0}
dt{color:var(--muted)}dd{margin:0}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}
.call{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.4rem 1rem .8rem;
margin:.8rem 0}
.muted{color:var(--muted)}details summary{cursor:pointer;color:var(--muted)}
ul.tree,ul.tree ul{list-style:none;padding-left:1.1rem;border-left:1px solid var(--line)}
section.task{border-top:3px solid var(--line);margin-top:2.5rem}
"""


def _e(value: Any) -> str:
    """`value` as escaped display text."""
    return html.escape(plain(value), quote=True)


def _pre(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    )
    return f"<pre>{html.escape(text, quote=True)}</pre>"


def _dl(rows: list[tuple[str, str]]) -> str:
    """A definition list; values must already be escaped."""
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _integrity(integrity: dict[str, Any]) -> str:
    css = "ok" if integrity.get("verified") else "bad"
    title = _e(wording.integrity_title(integrity))
    return (
        f'<p class="integrity {css}" role="status"><strong>{title}.</strong> '
        f"{_e(wording.integrity_sentence(integrity))}</p>"
    )


def _summary(task: dict[str, Any]) -> str:
    d = task["durations"]
    rows = [
        ("Task", f"<code>{_e(task['task_id'])}</code>"),
        ("Conversation", f"<code>{_e(task['conversation_id'])}</code>"),
        ("Status", _e(task["status"])),
        ("Created", _e(task["created_at"])),
        ("Started", _e(task["started_at"])),
        ("Finished", _e(task["finished_at"])),
        ("Attempts", _e(task["attempts"])),
        ("Config revision in force", f"<code>{_e(task['config_revision'])}</code>"),
        ("Model", _e(task["model"])),
        ("Token usage", _e(wording.usage(task["usage"]))),
        ("Queue wait", _e(wording.duration(d["queue_wait_ms"]))),
        ("Run time", _e(wording.duration(d["run_ms"]))),
        ("Model time (final call)", _e(wording.duration(d["model_ms"]))),
    ]
    rows += [(f"Time {s}", _e(wording.duration(ms))) for s, ms in d["time_in_status_ms"].items()]
    rows += [(f"Tool {t['tool']}", _e(wording.duration(t["ms"]))) for t in d["tools"]]
    given = task["input"]
    return (
        f"<h2>Summary</h2>{_dl(rows)}"
        f'<h3>Input</h3><p class="muted">From {_e(wording.actor(given["by"]))}</p>'
        f"{_pre(plain(given['text']))}"
        f'<h3>Reply</h3><p class="muted">Finish reason: {_e(task["finish_reason"])}</p>'
        f"{_pre(plain(task['reply']))}"
    )


def _plan_route(report: dict[str, Any]) -> str:
    plan, route = report["plan"], report["route"]
    steps = "".join(f"<li>{_e(s)}</li>" for s in plan["steps"])
    turns = "".join(
        f"<li>Step {_e(t['step'])}: the model asked for "
        f"{_e(', '.join(str(c.get('name')) for c in t['tool_calls']))}</li>"
        for t in plan["turns"]
    )
    fallbacks = "".join(
        f"<li>{_e(f['ts'])}: {_e(f['reason'])}{_pre(f['payload'])}</li>" for f in route["fallbacks"]
    )
    return (
        f"<h2>Plan</h2><ol>{steps}</ol>"
        f"<p>Tools offered: {_e(', '.join(map(str, plan['tools_offered'])))}</p>"
        + (f"<ul>{turns}</ul>" if turns else "")
        + "<h2>Route</h2>"
        + _dl(
            [
                ("Backend", _e(route["backend"])),
                ("Model", _e(route["model"])),
                ("Requested model", _e(route["requested_model"])),
                ("Reason", _e(route["reason"])),
            ]
        )
        + (f"<h3>Fallbacks</h3><ul>{fallbacks}</ul>" if fallbacks else "<p>No fallbacks.</p>")
    )


def _memories(memories: dict[str, Any]) -> str:
    read = []
    for r in memories["read"]:
        if r["phase"] == "recall_skipped":
            read.append(f"<li>Recall skipped: {_e(r['reason'])}</li>")
            continue
        items = "".join(
            f"<li><code>{_e(i.get('memory_id'))}</code> score {_e(i.get('score'))}</li>"
            for i in r["items"]
        )
        read.append(
            f"<li>Recalled {len(r['items'])} (top {_e(r['top_k'])}, min score "
            f"{_e(r['min_score'])}, embeddings {_e(r['model'])})"
            + (f"<ul>{items}</ul>" if items else "")
            + "</li>"
        )
    written = "".join(
        f"<li>{_e(w['phase'])} <code>{_e(w['memory_id'] or w['candidate_id'])}</code> by "
        f'{_e(wording.actor(w["actor"]))}: {_e(w["text"])} <span class="muted">(kind '
        f"{_e(w['kind'])}, origin {_e(w['origin'])}, confidence {_e(w['confidence'])}, "
        f"reasons {_e(w['reasons'])})</span></li>"
        for w in memories["written"]
    )
    return (
        "<h2>Memories</h2><h3>Read</h3>"
        + (f"<ul>{''.join(read)}</ul>" if read else "<p>No recall recorded.</p>")
        + "<h3>Written</h3>"
        + (f"<ul>{written}</ul>" if written else "<p>None.</p>")
    )


def _call(n: int, c: dict[str, Any]) -> str:
    rows = [
        ("Call id", f"<code>{_e(c['tool_call_id'])}</code>"),
        ("Risk", _e(c["risk"])),
        ("Policy decision", f"{_e(c['decision'])} — {_e(c['policy_reason'])}"),
        ("Requested", f"{_e(c['requested_at'])} by {_e(wording.actor(c['requested_by']))}"),
        ("Started", _e(c["started_at"])),
        ("Finished", _e(c["finished_at"])),
        ("Duration", _e(wording.duration(c["duration_ms"]))),
    ]
    a = c["approval"]
    if a is not None:
        rows.append(
            (
                "Approval",
                f"<code>{_e(a['approval_id'])}</code> {_e(a['status'])} by "
                f"{_e(wording.actor(a['decided_by']))} at {_e(a['decided_at'])}; reason: "
                f'{_e(a["reason"])} <span class="muted">(requested {_e(a["requested_at"])}, '
                f"expiring {_e(a['expires_at'])})</span>",
            )
        )
    outcome = ("Error", _pre(str(c["error"]))) if c["error"] is not None else None
    outcome = outcome or ("Result", _pre(c["result"]))
    return (
        f'<article class="call"><h3>{n}. {_e(c["tool"])} — {_e(c["status"])}</h3>'
        f"{_dl(rows)}<h4>Arguments</h4>{_pre(c['args'])}<h4>{outcome[0]}</h4>{outcome[1]}"
        "</article>"
    )


def _changes(report: dict[str, Any]) -> str:
    errors = "".join(
        f"<li>{_e(e['ts'])} <code>{_e(e['code'])}</code>: {_e(e['message'])}</li>"
        for e in report["errors"]
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{_e(v)}</td>"
            for v in (c["ts"], c["from"], c["status"], c["phase"], wording.actor(c["actor"]))
        )
        + f"<td>{_e(c['reason'])}</td></tr>"
        for c in report["state_changes"]
    )
    return (
        "<h2>Errors</h2>"
        + (f"<ul>{errors}</ul>" if errors else "<p>None.</p>")
        + "<h2>State changes</h2><table><tr><th>ts</th><th>from</th><th>to</th><th>phase</th>"
        f"<th>by</th><th>reason</th></tr>{rows}</table>"
    )


def _timeline(report: dict[str, Any]) -> str:
    seq_of = {e["event_id"]: e["seq"] for e in report["timeline"]}
    rows = []
    for e in report["timeline"]:
        cause = e["causation_id"]
        cause_text = f"seq {seq_of[cause]}" if cause in seq_of else plain(cause)
        rows.append(
            f'<tr id="{_e(e["event_id"])}"><td>{_e(e["seq"])}</td><td class="mono">{_e(e["ts"])}'
            f"</td><td>{_e(e['type'])}</td><td>{_e(e['phase'])}</td>"
            f"<td>{_e(wording.actor(e['actor']))}</td><td>{_e(cause_text)}</td>"
            f"<td>{_e(e['summary'])}<details><summary>payload</summary>{_pre(e['payload'])}"
            f'<p class="mono">{_e(e["event_id"])}<br>hash {_e(e["hash"])}<br>prev '
            f"{_e(e['prev_hash'])}</p></details></td></tr>"
        )
    head = (
        "<tr><th>seq</th><th>ts</th><th>type</th><th>phase</th><th>actor</th>"
        "<th>caused by</th><th>summary</th></tr>"
    )
    return f"<h2>Timeline</h2><table>{head}{''.join(rows)}</table>"


def _tree(roots: list[dict[str, Any]]) -> str:
    out = ['<h2>Causal tree</h2><ul class="tree">']
    stack: list[dict[str, Any] | str] = list(reversed(roots))
    while stack:  # iterative, so a long causal chain cannot exhaust the recursion limit
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        line = f"[{item['seq']}] {item['type']}: {item['summary']}"
        out.append(f"<li>{_e(line)}")
        if item["children"]:
            out.append("<ul>")
            stack.append("</ul></li>")
            stack += list(reversed(item["children"]))
        else:
            out.append("</li>")
    return "".join(out) + "</ul>"


def _task(report: dict[str, Any]) -> str:
    calls = "".join(_call(n, c) for n, c in enumerate(report["tool_calls"], 1))
    return (
        _integrity(report["integrity"])
        + _summary(report["task"])
        + _plan_route(report)
        + _memories(report["memories"])
        + "<h2>Tool calls</h2>"
        + (calls or "<p>None.</p>")
        + _changes(report)
        + _timeline(report)
        + _tree(report["tree"])
    )


def render_html(report: dict[str, Any]) -> str:
    """The report as a complete HTML page."""
    if report["kind"] == "task":
        title = f"Audit report: task {report['task']['task_id']}"
        body = _task(report)
    else:
        title = f"Audit report: conversation {report['conversation_id']}"
        body = _integrity(report["integrity"]) + f"<p>Tasks: {len(report['tasks'])}</p>"
        for task in report["tasks"]:
            body += f'<section class="task"><h2>Task {_e(task["task"]["task_id"])}</h2>'
            body += _task(task) + "</section>"
        others = "".join(f"<li>{_e(e['summary'])}</li>" for e in report["other_events"])
        if others:
            body += f"<h2>Events outside any task</h2><ul>{others}</ul>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main><h1>{_e(title)}</h1>{body}</main></body></html>\n"
    )
