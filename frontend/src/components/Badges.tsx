/** Small labels: a status (task, approval, tool call) and a tool's risk grade. */
import { words } from "@/lib/format";

const TONE: Record<string, string> = {
  queued: "neutral",
  running: "info",
  waiting_approval: "warn",
  pending_approval: "warn",
  pending: "warn",
  completed: "ok",
  approved: "ok",
  committed: "ok",
  failed: "bad",
  rejected: "bad",
  ambiguous: "bad",
  cancelled: "neutral",
  expired: "neutral",
};

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge tone-${TONE[status] ?? "neutral"}`} data-status={status} data-testid={testId}>
      {words(status)}
    </span>
  );
}

const RISK_TONE: Record<string, string> = {
  read_only: "ok",
  local_write: "warn",
  external_write: "bad",
  L1: "ok",
  L2: "warn",
  L3: "bad",
};

const RISK_WORDS: Record<string, string> = {
  read_only: "read only",
  local_write: "local write",
  external_write: "external write · needs approval",
  L1: "L1 · style",
  L2: "L2 · behaviour",
  L3: "L3 · security",
};

export function RiskBadge({ risk, testId }: { risk: string | null; testId?: string }) {
  const r = risk ?? "unknown";
  return (
    <span className={`badge tone-${RISK_TONE[r] ?? "neutral"}`} data-risk={r} data-testid={testId}>
      {RISK_WORDS[r] ?? words(r)}
    </span>
  );
}
