/**
 * The story of one task as Chat shows it: the user's input, the tool calls with their state
 * and approvals, the reply as it streams, and how it ended. Built by folding the task's
 * ledger events (from the conversation timeline on load, then from its event stream) and its
 * token deltas; pure functions, so replaying the same events gives the same story.
 *
 * Events at or below `lastSeq` and deltas at or below `lastDelta` are ignored, so the timeline
 * and a resumed stream may overlap without showing anything twice.
 */
import type { Delta, JsonValue, LedgerEvent, Task } from "@/api/resources";
import { TERMINAL_TASK_STATUSES } from "@/api/resources";

export type ApprovalState = "pending" | "approved" | "rejected" | "expired";

export interface ToolCallView {
  toolCallId: string;
  tool: string;
  /** One of the ToolCall statuses: pending_approval, running, completed, failed, rejected,
   * expired, ambiguous. */
  status: string;
  risk: string | null;
  args: JsonValue;
  result: JsonValue;
  error: string | null;
  approvalId: string | null;
  approval: ApprovalState | null;
  decidedBy: string | null;
  reason: string | null;
}

export interface TaskStory {
  taskId: string;
  conversationId: string;
  input: string;
  createdAt: string;
  status: string;
  toolCalls: ToolCallView[];
  streamText: string;
  reply: string | null;
  error: string | null;
  lastSeq: number;
  lastDelta: number;
  /** The frame id to resume this task's stream from. */
  lastFrameId: string | null;
}

export function isFinished(status: string): boolean {
  return TERMINAL_TASK_STATUSES.includes(status);
}

export function storyFromTask(task: Task): TaskStory {
  return {
    taskId: task.task_id,
    conversationId: task.conversation_id,
    input: task.input ?? "",
    createdAt: task.created_at,
    status: task.status,
    toolCalls: [],
    streamText: "",
    reply: task.reply,
    error: task.status === "failed" ? task.error?.message ?? "The task failed." : null,
    lastSeq: 0,
    lastDelta: 0,
    lastFrameId: null,
  };
}

export function newStory(taskId: string, conversationId: string, input: string): TaskStory {
  return {
    taskId,
    conversationId,
    input,
    createdAt: new Date().toISOString(),
    status: "queued",
    toolCalls: [],
    streamText: "",
    reply: null,
    error: null,
    lastSeq: 0,
    lastDelta: 0,
    lastFrameId: null,
  };
}

function text(value: JsonValue | undefined): string | null {
  return typeof value === "string" ? value : null;
}

function callStatus(phase: string, decision: string | null): string {
  if (phase === "requested") return decision === "needs_approval" ? "pending_approval" : "running";
  if (phase === "started") return "running";
  if (phase === "refused" || phase === "interrupted") return "failed";
  return phase;
}

function blankCall(toolCallId: string, tool: string): ToolCallView {
  return {
    toolCallId,
    tool,
    status: "running",
    risk: null,
    args: null,
    result: null,
    error: null,
    approvalId: null,
    approval: null,
    decidedBy: null,
    reason: null,
  };
}

function upsertCall(
  calls: ToolCallView[],
  id: string,
  tool: string,
  change: (call: ToolCallView) => ToolCallView,
): ToolCallView[] {
  const at = calls.findIndex((c) => c.toolCallId === id);
  if (at === -1) return [...calls, change(blankCall(id, tool))];
  const next = calls.slice();
  next[at] = change(calls[at] as ToolCallView);
  return next;
}

function failureText(payload: LedgerEvent["payload"]): string | null {
  const error = payload.error;
  if (error && typeof error === "object" && !Array.isArray(error)) {
    const message = text(error.message);
    if (message) return message;
  }
  return text(payload.reason);
}

/** The story after one ledger event of its task. */
export function applyEvent(story: TaskStory, event: LedgerEvent, frameId?: string): TaskStory {
  if (event.seq <= story.lastSeq) return story;
  const p = event.payload;
  const s: TaskStory = { ...story, lastSeq: event.seq, lastFrameId: frameId ?? String(event.seq) };
  switch (event.type) {
    case "InputEvent":
      return { ...s, input: text(p.text) ?? s.input, createdAt: event.ts };
    case "TaskEvent": {
      const status = text(p.status) ?? s.status;
      const released = status === "queued" && p.phase === "released";
      return {
        ...s,
        status,
        streamText: released ? "" : s.streamText,
        error: status === "failed" ? failureText(p) ?? "The task failed." : status === "cancelled" ? failureText(p) : s.error,
      };
    }
    case "PlanEvent":
      // A model turn that asked for tools: what streamed so far belonged to that turn.
      return p.phase === "tool_calls" ? { ...s, streamText: "" } : s;
    case "CompletionEvent":
      return { ...s, reply: text(p.text) ?? "", streamText: "" };
    case "ToolCallEvent": {
      const id = text(p.tool_call_id);
      if (!id) return s;
      const phase = text(p.phase) ?? "running";
      return {
        ...s,
        toolCalls: upsertCall(s.toolCalls, id, text(p.tool) ?? "tool", (c) => ({
          ...c,
          tool: text(p.tool) ?? c.tool,
          status: callStatus(phase, text(p.decision)),
          risk: text(p.risk) ?? c.risk,
          args: p.args ?? p.arguments ?? c.args,
          result: p.result ?? c.result,
          error: text(p.error) ?? c.error,
        })),
      };
    }
    case "ApprovalEvent": {
      const id = text(p.tool_call_id);
      if (!id) return s;
      const phase = text(p.phase);
      const approval: ApprovalState =
        phase === "approved" || phase === "rejected" || phase === "expired" ? phase : "pending";
      return {
        ...s,
        toolCalls: upsertCall(s.toolCalls, id, text(p.tool) ?? "tool", (c) => ({
          ...c,
          risk: text(p.risk) ?? c.risk,
          args: c.args ?? p.args ?? null,
          approvalId: text(p.approval_id) ?? c.approvalId,
          approval,
          decidedBy: text(p.decided_by),
          reason: text(p.reason),
          status: approval === "pending" ? "pending_approval" : c.status,
        })),
      };
    }
    default:
      return s;
  }
}

/** The story after one token delta of its reply. */
export function applyDelta(story: TaskStory, delta: Delta, frameId: string): TaskStory {
  if (delta.index <= story.lastDelta || story.reply !== null) return story;
  return {
    ...story,
    streamText: story.streamText + delta.text,
    lastDelta: delta.index,
    lastFrameId: frameId,
  };
}
