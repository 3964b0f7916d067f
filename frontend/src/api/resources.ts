/**
 * Resource shapes Edge returns (SPEC "Resource shapes"). Most Edge routes declare
 * `dict[str, Any]` responses, so the OpenAPI schema types their bodies as open objects; these
 * interfaces name the fields the Console reads. Routes whose schema is precise (conversations,
 * accepted messages) use the generated types from `schema.d.ts` directly.
 */
import type { components } from "./schema";

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export type Role = "owner" | "member";

export interface Me {
  user_id: string;
  name: string;
  role: Role | string;
}

export type Conversation = components["schemas"]["ConversationPublic"];
export type MessageAccepted = components["schemas"]["MessageAccepted"];
/** Edge's `/health`: liveness plus the circuit breakers in front of Core and the fallback. */
export type EdgeHealth = components["schemas"]["EdgeHealth"];
export type ModelServerHealth = components["schemas"]["ModelServerHealth"];

export const TASK_STATUSES = [
  "queued",
  "running",
  "waiting_approval",
  "completed",
  "failed",
  "cancelled",
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_TASK_STATUSES: readonly string[] = ["completed", "failed", "cancelled"];

export interface TaskError {
  code?: string;
  message?: string;
  [key: string]: JsonValue | undefined;
}

export interface Task {
  task_id: string;
  conversation_id: string;
  status: TaskStatus | string;
  input: string | null;
  reply: string | null;
  error: TaskError | null;
  config_revision: string | null;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string | null;
}

export interface Actor {
  id: string;
  role: string;
}

/** A ledger event (the Event resource). */
export interface LedgerEvent {
  event_id: string;
  seq: number;
  ts: string;
  type: string;
  conversation_id: string | null;
  task_id: string | null;
  actor: Actor;
  causation_id: string | null;
  payload: JsonObject;
  prev_hash: string;
  hash: string;
}

export type Risk = "read_only" | "local_write" | "external_write";

export interface Tool {
  name: string;
  risk: Risk | string;
  description: string;
  schema: JsonObject;
  source: string;
}

export interface ToolCall {
  tool_call_id: string;
  tool: string;
  args: JsonValue;
  risk: string;
  status: string;
  result: JsonValue;
  error: string | null;
  approval_id: string | null;
  task_id: string | null;
  conversation_id: string | null;
  duration_ms: number | null;
}

export type ApprovalStatus = "pending" | "approved" | "rejected" | "expired";

export interface Approval {
  approval_id: string;
  tool_call_id: string;
  task_id: string | null;
  conversation_id: string | null;
  status: ApprovalStatus | string;
  requested_by: string;
  decided_by: string | null;
  reason: string | null;
  created_at: string;
  decided_at: string | null;
  expires_at: string | null;
  tool?: string;
  args?: JsonValue;
  risk?: string;
  tool_call?: ToolCall;
}

/** One change a patch or revision makes: a config path with its value before and after. */
export interface ConfigChange {
  path: string;
  before?: JsonValue;
  after?: JsonValue;
  [key: string]: JsonValue | undefined;
}

export interface Patch {
  patch_id: string;
  scope: string;
  text: string;
  ops: JsonValue[];
  risk: string;
  diff: ConfigChange[];
  rationale: string | null;
  intents: JsonValue;
  status: string;
  base_revision: string | null;
  revision_id: string | null;
  proposed_by: string | null;
  created_at: string;
}

export interface Revision {
  revision_id: string;
  seq: number;
  scope: string;
  kind: "seed" | "commit" | "rollback" | string;
  patch_id: string | null;
  rolls_back: string | null;
  changes: ConfigChange[];
  committed_by: string | null;
  created_at: string;
}

export interface EffectiveConfig {
  scope: string;
  revision: string | null;
  config: JsonObject;
}

interface MemoryCommon {
  text: string;
  kind: string;
  confidence: number | null;
  origin: string;
  source: string | null;
  source_event_id: string | null;
  task_id: string | null;
  conversation_id: string | null;
  user_id: string | null;
  status: string;
  created_at: string;
  updated_at: string | null;
}

export interface MemoryItem extends MemoryCommon {
  memory_id: string;
  supersedes: string | null;
  superseded_by: string | null;
  score?: number;
}

export interface MemoryCandidate extends MemoryCommon {
  candidate_id: string;
  reasons: JsonValue;
  supersedes: string | null;
  superseded_item: MemoryItem | null;
  memory_id: string | null;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}

export interface Integrity {
  verified: boolean;
  checked: number;
  first_broken: { seq: number; event_id: string; type: string; reason: string } | null;
}

export interface AuditEntry {
  event_id: string;
  seq: number;
  ts: string;
  type: string;
  phase: string | null;
  actor: Actor;
  causation_id: string | null;
  task_id: string | null;
  summary: string;
  payload: JsonObject;
  prev_hash: string;
  hash: string;
}

export interface AuditToolCall {
  tool_call_id: string;
  tool: string | null;
  status?: string | null;
  risk?: string | null;
  duration_ms?: number | null;
  [key: string]: JsonValue | undefined;
}

export interface AuditTaskReport {
  kind: "task";
  task: {
    task_id: string | null;
    conversation_id: string | null;
    status: string | null;
    created_at: string | null;
    started_at: string | null;
    finished_at: string | null;
    attempts: number;
    config_revision: string | null;
    input: { text: string | null; by: Actor | null };
    reply: string | null;
    finish_reason: string | null;
    model: string | null;
    usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; model_calls: number };
    durations: { queue_wait_ms: number | null; run_ms: number | null; total_ms: number | null; model_ms?: number | null };
  };
  route: { backend: string | null; model: string | null; reason: string | null };
  tool_calls: AuditToolCall[];
  timeline: AuditEntry[];
  integrity: Integrity;
}

export interface MemoryWriteResult {
  status: "stored" | "candidate" | "merged" | string;
  memory?: MemoryItem;
  candidate?: MemoryCandidate;
  reasons: JsonValue;
}

/** A token delta of a task's reply, as sent on its event stream. */
export interface Delta {
  task_id: string;
  index: number;
  text: string;
}
