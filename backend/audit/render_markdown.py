"""An audit report (`backend.audit.report`) as Markdown.

Invariants:
- Renders the report dict only; adds nothing that is not in it.
- Text from payloads is user- and model-controlled: inline text has Markdown's active
  characters backslash-escaped (no raw HTML, links or images can be smuggled in, and table
  cells cannot be split), and longer values go in fenced blocks whose fence is longer than
  any backtick run inside them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from backend.audit import wording
from backend.audit.wording import plain

__all__ = ["render_markdown"]

# Characters that could start markup: HTML, links and images, code, emphasis, table cells,
# entities, headings. `_` is left alone: ids are full of it, and CommonMark does not treat
# it as emphasis inside a word, so at worst a phrase shows in italics.
_ACTIVE = re.compile(r"([\\`*\[\]<>|&!#])")


def _text(value: Any) -> str:
    """`value` as one line of inert Markdown text."""
    return _ACTIVE.sub(r"\\\1", " ".join(plain(value).split()))


def _code(value: Any) -> str:
    """`value` as an inline code span."""
    text = " ".join(plain(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _block(value: Any, lang: str = "") -> list[str]:
    """`value` (text, or anything as JSON) as a fenced block."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", text, fence, ""]


def _summary(task: dict[str, Any], h: str) -> list[str]:
    d = task["durations"]
    rows = [
        ("Task", _code(task["task_id"])),
        ("Conversation", _code(task["conversation_id"])),
        ("Status", _text(task["status"])),
        ("Created", _text(task["created_at"])),
        ("Started", _text(task["started_at"])),
        ("Finished", _text(task["finished_at"])),
        ("Attempts", _text(task["attempts"])),
        ("Config revision in force", _code(task["config_revision"])),
        ("Model", _text(task["model"])),
        ("Token usage", _text(wording.usage(task["usage"]))),
        ("Queue wait", wording.duration(d["queue_wait_ms"])),
        ("Run time", wording.duration(d["run_ms"])),
        ("Model time (final call)", wording.duration(d["model_ms"])),
    ]
    for status, ms in d["time_in_status_ms"].items():
        rows.append((f"Time {_text(status)}", wording.duration(ms)))
    for tool in d["tools"]:
        rows.append((f"Tool {_text(tool['tool'])}", wording.duration(tool["ms"])))
    lines = [f"{h}## Summary", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    given = task["input"]
    lines += ["", f"{h}### Input", "", f"From {_text(wording.actor(given['by']))}:", ""]
    lines += _block(plain(given["text"]), "text")
    lines += [f"{h}### Reply", "", f"Finish reason: {_text(task['finish_reason'])}", ""]
    lines += _block(plain(task["reply"]), "text")
    return lines


def _plan_and_route(report: dict[str, Any], h: str) -> list[str]:
    plan, route = report["plan"], report["route"]
    lines = [f"{h}## Plan", ""]
    lines += [f"1. {_text(step)}" for step in plan["steps"]]
    lines += ["", f"Tools offered: {_text(', '.join(map(str, plan['tools_offered'])))}", ""]
    for turn in plan["turns"]:
        names = ", ".join(str(c.get("name")) for c in turn["tool_calls"])
        lines.append(f"- Step {_text(turn['step'])}: the model asked for {_text(names)}")
    lines += ["", f"{h}## Route", ""]
    lines.append(f"- Backend: {_text(route['backend'])}; model: {_text(route['model'])}")
    lines.append(f"- Requested model: {_text(route['requested_model'])}")
    lines.append(f"- Reason: {_text(route['reason'])}")
    for fb in route["fallbacks"]:
        lines.append(f"- Fallback at {_text(fb['ts'])}: {_text(fb['reason'])}")
    if not route["fallbacks"]:
        lines.append("- Fallbacks: none")
    return [*lines, ""]


def _memories(memories: dict[str, Any], h: str) -> list[str]:
    lines = [f"{h}## Memories", "", f"{h}### Read", ""]
    for read in memories["read"]:
        if read["phase"] == "recall_skipped":
            lines.append(f"- Recall skipped: {_text(read['reason'])}")
            continue
        lines.append(
            f"- Recalled {len(read['items'])} (top {_text(read['top_k'])}, "
            f"min score {_text(read['min_score'])}, embeddings {_text(read['model'])})"
        )
        lines += [
            f"  - {_code(i.get('memory_id'))} score {_text(i.get('score'))}" for i in read["items"]
        ]
    if not memories["read"]:
        lines.append("- No recall recorded")
    lines += ["", f"{h}### Written", ""]
    for w in memories["written"]:
        ident = w["memory_id"] or w["candidate_id"]
        lines.append(
            f"- {_text(w['phase'])} {_code(ident)} by {_text(wording.actor(w['actor']))}: "
            f"{_text(w['text'])} (kind {_text(w['kind'])}, origin {_text(w['origin'])}, "
            f"confidence {_text(w['confidence'])}, reasons {_text(w['reasons'])})"
        )
    if not memories["written"]:
        lines.append("- None")
    return [*lines, ""]


def _tool_calls(calls: list[dict[str, Any]], h: str) -> list[str]:
    lines = [f"{h}## Tool calls", ""]
    if not calls:
        lines += ["None.", ""]
    for n, c in enumerate(calls, 1):
        lines += [f"{h}### {n}. {_text(c['tool'])} — {_text(c['status'])}", ""]
        lines.append(f"- Call id: {_code(c['tool_call_id'])} (model step {_text(c['step'])})")
        lines.append(f"- Risk: {_text(c['risk'])}")
        lines.append(f"- Policy decision: {_text(c['decision'])} ({_text(c['policy_reason'])})")
        who = wording.actor(c["requested_by"])
        lines.append(f"- Requested by {_text(who)} at {_text(c['requested_at'])}")
        lines.append(f"- Started {_text(c['started_at'])}; finished {_text(c['finished_at'])}")
        lines.append(f"- Duration: {wording.duration(c['duration_ms'])}")
        a = c["approval"]
        if a is not None:
            lines.append(
                f"- Approval {_code(a['approval_id'])}: {_text(a['status'])}; decided by "
                f"{_text(wording.actor(a['decided_by']))} at {_text(a['decided_at'])}; "
                f"reason: {_text(a['reason'])} (requested at {_text(a['requested_at'])}, "
                f"expiring {_text(a['expires_at'])})"
            )
        lines += ["", "Arguments:", ""]
        lines += _block(c["args"], "json")
        if c["error"] is not None:
            lines += ["Error:", "", *_block(str(c["error"]), "text")]
        else:
            lines += ["Result:", "", *_block(c["result"], "json")]
    return lines


def _changes(report: dict[str, Any], h: str) -> list[str]:
    lines = [f"{h}## Errors", ""]
    for e in report["errors"]:
        lines.append(f"- {_text(e['ts'])} {_code(e['code'])}: {_text(e['message'])}")
    if not report["errors"]:
        lines.append("None.")
    lines += ["", f"{h}## State changes", "", "| ts | from | to | phase | by | reason |"]
    lines.append("|---|---|---|---|---|---|")
    for c in report["state_changes"]:
        cells = (c["ts"], c["from"], c["status"], c["phase"], wording.actor(c["actor"]))
        lines.append("| " + " | ".join(map(_text, (*cells, c["reason"]))) + " |")
    return [*lines, ""]


def _timeline(report: dict[str, Any], h: str) -> list[str]:
    seq_of = {e["event_id"]: e["seq"] for e in report["timeline"]}
    lines = [f"{h}## Timeline", "", "| seq | ts | type | phase | actor | caused by | summary |"]
    lines.append("|---|---|---|---|---|---|---|")
    for e in report["timeline"]:
        cause = e["causation_id"]
        cause_text = f"seq {seq_of[cause]}" if cause in seq_of else plain(cause)
        cells = (e["seq"], e["ts"], e["type"], e["phase"], wording.actor(e["actor"]))
        lines.append("| " + " | ".join(map(_text, (*cells, cause_text, e["summary"]))) + " |")
    lines += ["", f"{h}## Causal tree", ""]
    stack = [(node, 0) for node in reversed(report["tree"])]
    while stack:  # iterative, so a long causal chain cannot exhaust the recursion limit
        node, depth = stack.pop()
        line = f"{node['type']}: {node['summary']}"
        lines.append(f"{'  ' * depth}- `{node['seq']}` {_text(line)}")
        stack += [(child, depth + 1) for child in reversed(node["children"])]
    return [*lines, ""]


def _integrity(integrity: dict[str, Any]) -> list[str]:
    title = wording.integrity_title(integrity)
    return [f"**{title}.** {_text(wording.integrity_sentence(integrity))}", ""]


def _task(report: dict[str, Any], h: str) -> list[str]:
    lines = _integrity(report["integrity"]) + _summary(report["task"], h)
    lines += _plan_and_route(report, h) + _memories(report["memories"], h)
    lines += _tool_calls(report["tool_calls"], h) + _changes(report, h)
    return lines + _timeline(report, h)


def render_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown document."""
    if report["kind"] == "task":
        task_id = report["task"]["task_id"]
        lines = [f"# Audit report: task {_code(task_id)}", "", *_task(report, "")]
    else:
        lines = [f"# Audit report: conversation {_code(report['conversation_id'])}", ""]
        lines += [*_integrity(report["integrity"]), f"Tasks: {len(report['tasks'])}", ""]
        for task in report["tasks"]:
            lines += [f"## Task {_code(task['task']['task_id'])}", "", *_task(task, "#")]
        if report["other_events"]:
            lines += ["## Events outside any task", ""]
            lines += [f"- `{e['seq']}` {_text(e['summary'])}" for e in report["other_events"]]
    return "\n".join(lines).rstrip() + "\n"
