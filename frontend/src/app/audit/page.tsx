"use client";
/** Audit: a task's causal chain from the ledger (`/audit/?task=<id>`) as a timeline with
 * expandable details per event, and whether the chain's hashes verify. */
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useId, useState, type FormEvent } from "react";

import { listTasks, renderTaskAudit } from "@/api/client";
import type { AuditEntry, AuditTaskReport, Integrity } from "@/api/resources";
import { RiskBadge, StatusBadge } from "@/components/Badges";
import { JsonBlock } from "@/components/JsonBlock";
import { PageHeader } from "@/components/PageHeader";
import { Empty, ErrorState, Loading } from "@/components/States";
import { formatMs, formatTime, oneLine } from "@/lib/format";
import { useUserName } from "@/lib/auth";
import { useResource } from "@/lib/useResource";

function IntegrityBadge({ integrity }: { integrity: Integrity }) {
  if (integrity.verified) {
    return (
      <p className="badge tone-ok" data-testid="audit-integrity" data-verified="true" role="status">
        Integrity verified · {integrity.checked} events, hash chain ok
      </p>
    );
  }
  const b = integrity.first_broken;
  return (
    <p className="badge tone-bad" data-testid="audit-integrity" data-verified="false" role="status">
      Integrity broken{b ? ` at seq ${b.seq} (${b.type}): ${b.reason}` : ""} · the ledger was changed after it was written
    </p>
  );
}

function Entry({ entry, open, onToggle }: { entry: AuditEntry; open: boolean; onToggle: () => void }) {
  const detailsId = useId();
  const name = useUserName();
  return (
    <li data-seq={entry.seq} id={`evt-${entry.event_id}`}>
      <button
        type="button"
        className="audit-entry"
        data-testid="audit-entry"
        data-type={entry.type}
        aria-expanded={open}
        aria-controls={detailsId}
        onClick={onToggle}
      >
        <span className="mono muted small-text">#{entry.seq}</span>
        <span className="audit-ts muted small-text">{formatTime(entry.ts)}</span>
        <span className="wrap-any">
          <span className="audit-type">{entry.type.replace(/Event$/, "")}</span>
          {entry.phase ? <span className="muted"> · {entry.phase}</span> : null} — {entry.summary}
        </span>
        <span aria-hidden="true" className="muted">
          {open ? "▾" : "▸"}
        </span>
      </button>
      <div id={detailsId} hidden={!open}>
        {open ? (
          <div className="audit-details stack-tight" data-testid="audit-entry-details">
            <dl className="kv">
              <dt>Event</dt>
              <dd className="mono">{entry.event_id}</dd>
              <dt>When</dt>
              <dd>{entry.ts}</dd>
              <dt>Actor</dt>
              <dd>
                {name(entry.actor.id)} ({entry.actor.role})
              </dd>
              <dt>Caused by</dt>
              <dd className="mono">
                {entry.causation_id ? <a href={`#evt-${entry.causation_id}`}>{entry.causation_id}</a> : "—"}
              </dd>
              <dt>Hash</dt>
              <dd className="mono wrap-any">{entry.hash}</dd>
              <dt>Previous hash</dt>
              <dd className="mono wrap-any">{entry.prev_hash}</dd>
            </dl>
            <JsonBlock value={entry.payload} label={`Payload of event ${entry.seq}`} />
          </div>
        ) : null}
      </div>
    </li>
  );
}

function Report({ report }: { report: AuditTaskReport }) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const t = report.task;
  const name = useUserName();
  const toggle = (id: string) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="stack">
      <IntegrityBadge integrity={report.integrity} />
      <section className="card" aria-labelledby="summary-heading">
        <div className="row wrap spread">
          <h2 id="summary-heading" style={{ margin: 0 }}>
            Task <span className="mono">{t.task_id}</span>
          </h2>
          {t.status ? <StatusBadge status={t.status} /> : null}
        </div>
        <dl className="kv" style={{ marginTop: "0.6rem" }}>
          <dt>Asked</dt>
          <dd>
            {t.input.text ?? "—"}
            {t.input.by ? <span className="muted small-text"> · by {name(t.input.by.id)}</span> : null}
          </dd>
          <dt>Reply</dt>
          <dd>{t.reply ?? "—"}</dd>
          <dt>Route</dt>
          <dd>
            {report.route.backend ?? "—"} / {report.route.model ?? "—"}
            {report.route.reason ? <span className="muted small-text"> · {report.route.reason}</span> : null}
          </dd>
          <dt>Config</dt>
          <dd className="mono">{t.config_revision ?? "—"}</dd>
          <dt>Tokens</dt>
          <dd>
            {t.usage.total_tokens} ({t.usage.prompt_tokens} in, {t.usage.completion_tokens} out, {t.usage.model_calls} model
            calls)
          </dd>
          <dt>Timing</dt>
          <dd>
            waited {formatMs(t.durations.queue_wait_ms)}, ran {formatMs(t.durations.run_ms)}, total{" "}
            {formatMs(t.durations.total_ms)} · attempts {t.attempts}
          </dd>
          {t.conversation_id ? (
            <>
              <dt>Conversation</dt>
              <dd>
                <Link href={`/chat/?c=${encodeURIComponent(t.conversation_id)}`}>{t.conversation_id}</Link>
              </dd>
            </>
          ) : null}
        </dl>
      </section>
      {report.tool_calls.length > 0 ? (
        <section className="card" aria-labelledby="calls-heading">
          <h2 id="calls-heading">Tool calls</h2>
          <ul className="list">
            {report.tool_calls.map((c) => (
              <li key={c.tool_call_id} className="row wrap">
                <span className="tool-name">{c.tool}</span>
                {c.risk ? <RiskBadge risk={c.risk} /> : null}
                {c.status ? <StatusBadge status={c.status} /> : null}
                <span className="muted small-text">{formatMs(c.duration_ms ?? null)}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="timeline-heading">
        <div className="row wrap spread" style={{ marginBottom: "0.5rem" }}>
          <h2 id="timeline-heading" style={{ margin: 0 }}>
            Timeline ({report.timeline.length} events)
          </h2>
          <div className="row">
            <button type="button" className="button small" onClick={() => setOpen(new Set(report.timeline.map((e) => e.event_id)))}>
              Expand all
            </button>
            <button type="button" className="button small" onClick={() => setOpen(new Set())}>
              Collapse all
            </button>
          </div>
        </div>
        {report.timeline.length === 0 ? (
          <Empty>This task has no events.</Empty>
        ) : (
          <ol className="timeline" data-testid="audit-timeline">
            {report.timeline.map((entry) => (
              <Entry key={entry.event_id} entry={entry} open={open.has(entry.event_id)} onToggle={() => toggle(entry.event_id)} />
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}

function RecentTasks() {
  const recent = useResource(() => listTasks({ limit: 8 }), []);
  if (recent.loading) return <Loading label="Loading recent tasks…" />;
  if (recent.error) return <ErrorState error={recent.error} onRetry={recent.reload} />;
  const tasks = recent.data?.data ?? [];
  if (tasks.length === 0) return <Empty>No tasks yet. Send a message in Chat, then audit it here.</Empty>;
  return (
    <section className="card" aria-labelledby="recent-heading">
      <h2 id="recent-heading">Recent tasks</h2>
      <ul className="list">
        {tasks.map((t) => (
          <li key={t.task_id} className="row wrap">
            <StatusBadge status={t.status} />
            <Link href={`/audit/?task=${encodeURIComponent(t.task_id)}`} className="grow clip">
              {oneLine(t.input ?? t.task_id, 80)}
            </Link>
            <span className="muted small-text">{formatTime(t.created_at)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Audit() {
  const router = useRouter();
  const taskId = useSearchParams().get("task");
  const inputId = useId();
  const [text, setText] = useState(taskId ?? "");
  useEffect(() => setText(taskId ?? ""), [taskId]);
  const report = useResource(() => (taskId ? renderTaskAudit(taskId) : Promise.resolve(null)), [taskId]);

  function open(event: FormEvent) {
    event.preventDefault();
    const id = text.trim();
    if (id) router.push(`/audit/?task=${encodeURIComponent(id)}`);
  }

  return (
    <>
      <PageHeader title="Audit" />
      <form className="row wrap filters" onSubmit={open} role="search">
        <label htmlFor={inputId} className="field-label">
          Task id
        </label>
        <input
          id={inputId}
          className="input grow mono"
          data-testid="audit-task-input"
          placeholder="task_…"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="button primary" data-testid="audit-open" disabled={!text.trim()}>
          Open
        </button>
      </form>
      {!taskId ? <RecentTasks /> : null}
      {taskId && report.loading ? <Loading label="Reading the ledger…" /> : null}
      {taskId && report.error ? <ErrorState error={report.error} onRetry={report.reload} /> : null}
      {taskId && !report.loading && report.data ? <Report report={report.data} /> : null}
    </>
  );
}

export default function AuditPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Audit />
    </Suspense>
  );
}
