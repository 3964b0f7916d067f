/**
 * The Console's one API client: every call to Edge goes through this module.
 *
 * - Paths, parameters and request bodies are checked at compile time against Edge's OpenAPI
 *   schema (`schema.d.ts`, generated from `openapi.json` by `npm run gen:api`), through
 *   openapi-fetch; a route that leaves the schema stops the build.
 * - Every request carries `Authorization: Bearer <token>` from localStorage.
 * - Failures become `ApiError` (status, code, title, detail and a sentence saying what to do).
 * - A task's server-sent events are read with fetch + ReadableStream (EventSource cannot send
 *   the Authorization header), resuming with `Last-Event-ID` after a dropped connection.
 */
import createClient, { type Middleware } from "openapi-fetch";

import { ApiError, networkProblem, toProblem } from "./errors";
import type {
  Approval,
  AuditTaskReport,
  Conversation,
  Delta,
  EdgeHealth,
  EffectiveConfig,
  LedgerEvent,
  Me,
  MemoryCandidate,
  MemoryItem,
  MemoryWriteResult,
  MessageAccepted,
  Page,
  Patch,
  Revision,
  Task,
  TaskStatus,
  Tool,
} from "./resources";
import { TERMINAL_TASK_STATUSES } from "./resources";
import type { paths } from "./schema";
import { SseParser } from "./sse";

/** Same origin by default (Edge serves the Console); NEXT_PUBLIC_EDGE_URL for development. */
const EDGE_URL = (process.env.NEXT_PUBLIC_EDGE_URL ?? "").replace(/\/$/, "");
const TOKEN_KEY = "steward.token";

// --- the token --------------------------------------------------------------------------

export function getToken(): string | null {
  if (typeof window === "undefined") return null;
  try {
    return window.localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  window.localStorage.setItem(TOKEN_KEY, token.trim());
}

export function clearToken(): void {
  window.localStorage.removeItem(TOKEN_KEY);
}

function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// --- the typed transport ------------------------------------------------------------------

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
};

const api = createClient<paths>({ baseUrl: EDGE_URL, cache: "no-store" });
api.use(auth);

interface Outcome {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/**
 * Await an openapi-fetch call; return its body as `T` or throw `ApiError`. The body is cast:
 * most Edge routes declare open objects, and `resources.ts` names their fields.
 */
async function run<T>(call: () => Promise<Outcome>, action?: string): Promise<T> {
  let outcome: Outcome;
  try {
    outcome = await call();
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError(networkProblem(cause), action);
  }
  const { response } = outcome;
  if (!response.ok) {
    throw new ApiError(toProblem(response.status, outcome.error, response.statusText), action);
  }
  return outcome.data as T;
}

// --- health -------------------------------------------------------------------------------

/** Edge's liveness and the model servers' circuit breakers (no sign-in needed). */
export const getHealth = () => run<EdgeHealth>(() => api.GET("/health"));

// --- users --------------------------------------------------------------------------------

export const getMe = () => run<Me>(() => api.GET("/v1/me"));

/** Every user (owner only). */
export const listUsers = () => run<Page<Me>>(() => api.GET("/v1/users"), "list users");

// --- conversations, messages, tasks ------------------------------------------------------------

export const listConversations = (cursor?: string) =>
  run<Page<Conversation>>(() =>
    api.GET("/v1/conversations", { params: { query: { limit: 100, cursor } } }),
  );

export const sendMessage = (text: string, conversationId: string | null, idempotencyKey: string) =>
  run<MessageAccepted>(() =>
    api.POST("/v1/agent/messages", {
      body: { text, conversation_id: conversationId },
      params: { header: { "idempotency-key": idempotencyKey } },
    }),
  );

export interface TaskFilter {
  status?: TaskStatus | undefined;
  conversationId?: string | undefined;
  cursor?: string | undefined;
  limit?: number;
}

export const listTasks = (f: TaskFilter) =>
  run<Page<Task>>(() =>
    api.GET("/v1/agent/tasks", {
      params: {
        query: {
          status: f.status,
          conversation_id: f.conversationId,
          cursor: f.cursor,
          limit: f.limit ?? 50,
        },
      },
    }),
  );

export const getTask = (taskId: string) =>
  run<Task>(() => api.GET("/v1/agent/tasks/{task_id}", { params: { path: { task_id: taskId } } }));

export const cancelTask = (taskId: string) =>
  run<Task>(
    () => api.POST("/v1/agent/tasks/{task_id}:cancel", { params: { path: { task_id: taskId } } }),
    "cancel this task",
  );

/** Every event of a conversation in seq order (all pages). */
export async function conversationTimeline(conversationId: string): Promise<LedgerEvent[]> {
  const events: LedgerEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await run<Page<LedgerEvent>>(() =>
      api.GET("/v1/audit/conversations/{conversation_id}/timeline", {
        params: { path: { conversation_id: conversationId }, query: { cursor, limit: 1000 } },
      }),
    );
    events.push(...page.data);
    if (!page.next_cursor) return events;
    cursor = page.next_cursor;
  }
}

// --- tools and approvals -----------------------------------------------------------------------

export const listTools = () => run<Page<Tool>>(() => api.GET("/v1/tools"));

export const listApprovals = (cursor?: string) =>
  run<Page<Approval>>(() =>
    api.GET("/v1/approvals", { params: { query: { cursor, limit: 200 } } }),
  );

export const approveApproval = (approvalId: string, reason: string | null) =>
  run<Approval>(
    () =>
      api.POST("/v1/approvals/{approval_id}:approve", {
        params: { path: { approval_id: approvalId } },
        body: { reason },
      }),
    "approve tool calls",
  );

export const rejectApproval = (approvalId: string, reason: string | null) =>
  run<Approval>(
    () =>
      api.POST("/v1/approvals/{approval_id}:reject", {
        params: { path: { approval_id: approvalId } },
        body: { reason },
      }),
    "reject tool calls",
  );

// --- memory -------------------------------------------------------------------------------------

export const writeMemory = (text: string) =>
  run<MemoryWriteResult>(() => api.POST("/v1/memory/write", { body: { text } }));

export const queryMemory = (text: string, topK = 10) =>
  run<Page<MemoryItem>>(() => api.POST("/v1/memory/query", { body: { text, top_k: topK } }));

export const listMemoryItems = () =>
  run<Page<MemoryItem>>(() =>
    api.GET("/v1/memory/items", { params: { query: { status: "active", limit: 200 } } }),
  );

export const deleteMemoryItem = (memoryId: string) =>
  run<MemoryItem>(
    () => api.DELETE("/v1/memory/items/{memory_id}", { params: { path: { memory_id: memoryId } } }),
    "delete memories",
  );

export const listCandidates = () =>
  run<Page<MemoryCandidate>>(() =>
    api.GET("/v1/memory/candidates", { params: { query: { status: "pending", limit: 200 } } }),
  );

export const approveCandidate = (candidateId: string, reason: string | null) =>
  run<MemoryCandidate>(
    () =>
      api.POST("/v1/memory/candidates/{candidate_id}:approve", {
        params: { path: { candidate_id: candidateId } },
        body: { reason },
      }),
    "approve memory candidates",
  );

export const rejectCandidate = (candidateId: string, reason: string | null) =>
  run<MemoryCandidate>(
    () =>
      api.POST("/v1/memory/candidates/{candidate_id}:reject", {
        params: { path: { candidate_id: candidateId } },
        body: { reason },
      }),
    "reject memory candidates",
  );

// --- config -------------------------------------------------------------------------------------

export const getEffectiveConfig = (scope: string) =>
  run<EffectiveConfig>(() => api.GET("/v1/config/effective", { params: { query: { scope } } }));

export const proposePatch = (text: string, scope: string) =>
  run<Patch>(() => api.POST("/v1/config/patches:propose", { body: { text, scope } }));

export const commitPatch = (patchId: string, confirm: boolean) =>
  run<Revision>(
    () =>
      api.POST("/v1/config/patches/{patch_id}:commit", {
        params: { path: { patch_id: patchId } },
        body: { confirm },
      }),
    "commit configuration changes",
  );

export const listRevisions = () =>
  run<Page<Revision>>(() => api.GET("/v1/config/revisions", { params: { query: { limit: 100 } } }));

export const rollbackRevision = (revisionId: string, force: boolean) =>
  run<Revision>(
    () =>
      api.POST("/v1/config/revisions/{revision_id}:rollback", {
        params: { path: { revision_id: revisionId } },
        body: { force },
      }),
    "roll back configuration",
  );

// --- audit --------------------------------------------------------------------------------------

export const renderTaskAudit = (taskId: string) =>
  run<AuditTaskReport>(() =>
    api.POST("/v1/audit/render", { body: { task_id: taskId, format: "json" } }),
  );

// --- a task's event stream ------------------------------------------------------------------------

export interface TaskStreamHandlers {
  /** A ledger event; `id` is its frame id (the event's seq). */
  onEvent: (event: LedgerEvent, id: string) => void;
  /** A token delta of the reply; `id` is `<seq>.<n>`. */
  onDelta: (delta: Delta, id: string) => void;
  /** The connection dropped and will be retried (`true`), or is back (`false`). */
  onReconnecting?: (reconnecting: boolean) => void;
}

const EVENTS_PATH: keyof paths = "/v1/agent/tasks/{task_id}/events";
const MAX_BACKOFF_MS = 10_000;

function isTerminal(event: LedgerEvent): boolean {
  const status = event.payload.status;
  return event.type === "TaskEvent" && typeof status === "string" && TERMINAL_TASK_STATUSES.includes(status);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Follow a task's events until its terminal state (or `signal` aborts). Starting from
 * `lastEventId` (a frame id) skips what the caller already has; a dropped connection is
 * resumed from the last frame received. Resolves when the task has ended; rejects with
 * `ApiError` on 4xx answers, which retrying would not fix.
 */
export async function followTask(
  taskId: string,
  handlers: TaskStreamHandlers,
  signal: AbortSignal,
  lastEventId?: string,
): Promise<void> {
  const url = EDGE_URL + EVENTS_PATH.replace("{task_id}", encodeURIComponent(taskId));
  let last = lastEventId;
  let retryMs = 1000;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { ...authHeaders(), Accept: "text/event-stream" };
      if (last) headers["Last-Event-ID"] = last;
      const response = await fetch(url, { headers, signal, cache: "no-store" });
      if (response.status === 204) return; // the caller already has the end
      if (!response.ok || !response.body) {
        const text = await response.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        throw new ApiError(toProblem(response.status, body, response.statusText));
      }
      if (failures > 0) handlers.onReconnecting?.(false);
      failures = 0;
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const frame of parser.push(value)) {
          if (frame.retry !== undefined) retryMs = frame.retry;
          if (frame.id !== undefined) last = frame.id;
          if (!frame.data) continue;
          if (frame.event === "delta") {
            handlers.onDelta(JSON.parse(frame.data) as Delta, frame.id ?? "");
            continue;
          }
          const event = JSON.parse(frame.data) as LedgerEvent;
          handlers.onEvent(event, frame.id ?? String(event.seq));
          if (isTerminal(event)) {
            await reader.cancel().catch(() => undefined);
            return;
          }
        }
      }
    } catch (cause) {
      if (signal.aborted) return;
      if (cause instanceof ApiError && cause.status >= 400 && cause.status < 500) throw cause;
    }
    failures += 1;
    handlers.onReconnecting?.(true);
    await pause(Math.min(retryMs * 2 ** (failures - 1), MAX_BACKOFF_MS), signal);
  }
}
