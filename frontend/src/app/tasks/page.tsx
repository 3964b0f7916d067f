"use client";
/** Tasks: filter by status and conversation (`/tasks/?status=..&conversation=..`); each row
 * links to its audit. */
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";

import { listConversations, listTasks } from "@/api/client";
import { TASK_STATUSES, type Task, type TaskStatus } from "@/api/resources";
import { StatusBadge } from "@/components/Badges";
import { PageHeader } from "@/components/PageHeader";
import { Empty, ErrorState, InlineError, Loading } from "@/components/States";
import { formatMs, formatTime, oneLine, words } from "@/lib/format";
import { useResource } from "@/lib/useResource";

function isStatus(value: string | null): value is TaskStatus {
  return value !== null && (TASK_STATUSES as readonly string[]).includes(value);
}

function duration(task: Task): string {
  if (!task.finished_at) return "—";
  return formatMs(new Date(task.finished_at).getTime() - new Date(task.created_at).getTime());
}

function Tasks() {
  const router = useRouter();
  const params = useSearchParams();
  const rawStatus = params.get("status");
  const status = isStatus(rawStatus) ? rawStatus : undefined;
  const conversation = params.get("conversation") || undefined;

  const conversations = useResource(() => listConversations(), []);
  const tasks = useResource(() => listTasks({ status, conversationId: conversation }), [status, conversation]);
  const [more, setMore] = useState<{ rows: Task[]; cursor: string | null; error: unknown; busy: boolean }>({
    rows: [],
    cursor: null,
    error: null,
    busy: false,
  });

  function setFilter(name: "status" | "conversation", value: string) {
    const next = new URLSearchParams(params.toString());
    if (value) next.set(name, value);
    else next.delete(name);
    setMore({ rows: [], cursor: null, error: null, busy: false });
    const query = next.toString();
    router.replace(query ? `/tasks/?${query}` : "/tasks/");
  }

  async function loadMore() {
    const cursor = more.cursor ?? tasks.data?.next_cursor;
    if (!cursor) return;
    setMore((m) => ({ ...m, busy: true, error: null }));
    try {
      const page = await listTasks({ status, conversationId: conversation, cursor });
      setMore((m) => ({ rows: [...m.rows, ...page.data], cursor: page.next_cursor, error: null, busy: false }));
    } catch (error) {
      setMore((m) => ({ ...m, error, busy: false }));
    }
  }

  const titles = new Map((conversations.data?.data ?? []).map((c) => [c.id, c.title]));
  const rows = [...(tasks.data?.data ?? []), ...more.rows];
  const nextCursor = more.rows.length ? more.cursor : tasks.data?.next_cursor ?? null;

  return (
    <>
      <PageHeader title="Tasks">
        <button type="button" className="button small" onClick={tasks.reload}>
          Refresh
        </button>
      </PageHeader>
      <div className="filters" role="search" aria-label="Filter tasks">
        <div className="field">
          <label htmlFor="task-status" className="field-label">
            Status
          </label>
          <select
            id="task-status"
            className="select"
            data-testid="task-filter-status"
            value={status ?? ""}
            onChange={(e) => setFilter("status", e.target.value)}
          >
            <option value="">Any status</option>
            {TASK_STATUSES.map((s) => (
              <option key={s} value={s}>
                {words(s)}
              </option>
            ))}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="task-conversation" className="field-label">
            Conversation
          </label>
          <select
            id="task-conversation"
            className="select"
            data-testid="task-filter-conversation"
            value={conversation ?? ""}
            onChange={(e) => setFilter("conversation", e.target.value)}
          >
            <option value="">Any conversation</option>
            {conversation && !titles.has(conversation) ? <option value={conversation}>{conversation}</option> : null}
            {(conversations.data?.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {oneLine(c.title || c.id, 60)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {tasks.loading ? <Loading label="Loading tasks…" /> : null}
      {tasks.error ? <ErrorState error={tasks.error} onRetry={tasks.reload} /> : null}
      {!tasks.loading && !tasks.error && rows.length === 0 ? (
        <Empty>
          {status || conversation
            ? "No tasks match these filters. Choose “Any” to see more."
            : "No tasks yet. Each message you send in Chat becomes a task."}
        </Empty>
      ) : null}
      {!tasks.loading && !tasks.error && rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table responsive">
            <caption className="visually-hidden">Tasks, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Message</th>
                <th scope="col">Conversation</th>
                <th scope="col">Created</th>
                <th scope="col">Took</th>
                <th scope="col">
                  <span className="visually-hidden">Links</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.task_id} data-testid="task-row" data-status={t.status} data-task-id={t.task_id}>
                  <td>
                    <StatusBadge status={t.status} />
                  </td>
                  <td className="clip" title={t.input ?? ""}>
                    {oneLine(t.input ?? "", 90)}
                    {t.status === "failed" && t.error?.message ? (
                      <div className="inline-error clip">{oneLine(t.error.message, 90)}</div>
                    ) : null}
                  </td>
                  <td className="clip">
                    <Link href={`/chat/?c=${encodeURIComponent(t.conversation_id)}`}>
                      {oneLine(titles.get(t.conversation_id) ?? t.conversation_id, 40)}
                    </Link>
                  </td>
                  <td className="small-text nowrap">{formatTime(t.created_at)}</td>
                  <td className="small-text nowrap">{duration(t)}</td>
                  <td>
                    <Link
                      href={`/audit/?task=${encodeURIComponent(t.task_id)}`}
                      data-testid="task-audit-link"
                      aria-label={`Audit of task ${t.task_id}`}
                    >
                      Audit
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {nextCursor && !tasks.loading ? (
        <div className="row" style={{ marginTop: "0.75rem" }}>
          <button type="button" className="button" onClick={() => void loadMore()} disabled={more.busy}>
            {more.busy ? "Loading…" : "Load more"}
          </button>
          <InlineError error={more.error} />
        </div>
      ) : null}
    </>
  );
}

export default function TasksPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Tasks />
    </Suspense>
  );
}
