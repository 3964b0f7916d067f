/**
 * Edge's errors as the Console sees them. Edge answers every failure with
 * `application/problem+json` carrying a stable `code`; `ApiError` keeps those fields and
 * `message` is one sentence saying what to do about it, chosen by status and code.
 */

export interface FieldIssue {
  field: string;
  message: string;
}

export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: FieldIssue[];
  /** Further members of the problem body (e.g. `examples` of preferences Edge understands). */
  extra?: Record<string, unknown>;
}

/** The status used for "the request never got an answer" (Edge down, network gone). */
export const NETWORK_STATUS = 0;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldIssue[];
  readonly extra: Record<string, unknown>;
  /** What the caller was trying to do, in words ("approve tool calls"); used in 403s. */
  readonly action: string | undefined;

  constructor(problem: Problem, action?: string) {
    super(explain(problem, action));
    this.name = "ApiError";
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.extra = problem.extra ?? {};
    this.action = action;
  }

  /** Whether signing in again is the fix. */
  get needsSignIn(): boolean {
    return this.status === 401;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fieldIssues(value: unknown): FieldIssue[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown) => {
    if (!isRecord(item)) return [];
    const field = typeof item.field === "string" ? item.field : "body";
    const message = typeof item.message === "string" ? item.message : "is invalid";
    return [{ field, message }];
  });
}

/** A `Problem` from whatever body an error response had (problem+json, or anything else). */
export function toProblem(status: number, body: unknown, statusText = ""): Problem {
  if (isRecord(body) && typeof body.code === "string") {
    const standard = ["type", "title", "status", "detail", "code", "instance", "errors"];
    const extra = Object.fromEntries(Object.entries(body).filter(([k]) => !standard.includes(k)));
    return {
      extra,
      status: typeof body.status === "number" ? body.status : status,
      code: body.code,
      title: typeof body.title === "string" ? body.title : statusText,
      detail: typeof body.detail === "string" ? body.detail : "",
      errors: fieldIssues(body.errors),
    };
  }
  const text = typeof body === "string" ? body.slice(0, 200) : "";
  return { status, code: `http_${status}`, title: statusText || `HTTP ${status}`, detail: text };
}

export function networkProblem(cause: unknown): Problem {
  const why = cause instanceof Error ? cause.message : String(cause);
  return { status: NETWORK_STATUS, code: "network_error", title: "Edge is unreachable", detail: why };
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return "";
  return /[.!?)]$/.test(t) ? t : `${t}.`;
}

const CONFLICT_HINTS: Record<string, string> = {
  approval_decided: "Someone already decided this approval; reload to see the decision.",
  candidate_decided: "This candidate was already decided; reload to see the decision.",
  patch_decided: "This patch was already committed; propose the preference again for a new change.",
  task_finished: "The task has already finished; there is nothing to cancel.",
  idempotency_key_reused: "Send the message again as a new message.",
};

/** One or two sentences: what went wrong and what to do. */
export function explain(p: Problem, action?: string): string {
  if (p.status === NETWORK_STATUS) {
    return "Edge is unreachable; is `steward up` running? Start it, then try again.";
  }
  if (p.status === 401) {
    return "Your token is missing, unknown or revoked: sign in again with a valid token.";
  }
  if (p.status === 403) {
    return `Only the owner can ${action ?? "do this"}; ask the owner, or sign in with the owner's token.`;
  }
  if (p.status === 404) {
    const what = sentence(p.detail) || "It was not found.";
    return `${what} Check the id, or go back to the list: it may belong to someone else.`;
  }
  if (p.status === 409) {
    const hint = CONFLICT_HINTS[p.code];
    return [sentence(p.detail), hint ?? "Reload the page to see the current state, then try again."]
      .filter(Boolean)
      .join(" ");
  }
  if (p.status === 400 || p.status === 422) {
    const first = p.errors?.[0];
    if (first && p.code === "validation_failed") {
      return `Check ${first.field}: ${sentence(first.message)}`;
    }
    return sentence(p.detail) || "The request is invalid; check what you typed and try again.";
  }
  if (p.status === 413) {
    return sentence(p.detail) || "That is too long; send less and try again.";
  }
  if (p.status === 503) {
    return `${sentence(p.detail)} Check that Core is running (\`steward up\` starts it), then try again.`.trim();
  }
  if (p.status >= 500) {
    return "Edge hit an unexpected error; its log has the details. Try again in a moment.";
  }
  return sentence(p.detail) || `Edge answered ${p.status} ${p.title}; try again.`;
}

/** The message to show for any thrown value. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return `Something went wrong in the Console (${error.message}); reload the page.`;
  return "Something went wrong in the Console; reload the page.";
}
