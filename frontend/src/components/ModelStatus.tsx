"use client";
/**
 * The model server's circuit breaker, as Edge's `/health` reports it, in one calm line of the
 * sidebar: ready (closed), unreachable until the next try (open), or being tested
 * (half-open). A disclosure button shows the detail: the last error, when it opened, and the
 * cloud fallback's breaker when one is configured. Polled every 5 s while the tab is visible.
 */
import { useId, useState } from "react";

import { getHealth } from "@/api/client";
import { describe } from "@/api/errors";
import type { EdgeHealth, ModelServerHealth } from "@/api/resources";
import { clockTime, formatTime } from "@/lib/format";
import { usePoll } from "@/lib/usePoll";

const POLL_MS = 5_000;

type Tone = "ok" | "warn" | "info" | "bad" | "neutral";

interface Summary {
  state: "loading" | "edge-unreachable" | "starting" | "ready" | "unreachable" | "testing";
  tone: Tone;
  text: string;
}

function nextTry(server: ModelServerHealth): string {
  const at = clockTime(server.retry_at);
  return at ? `next try at ${at}` : "next try soon";
}

function breakerWords(server: ModelServerHealth): string {
  if (server.breaker === "closed") return "ready";
  if (server.breaker === "half_open") return "testing…";
  return `unreachable — ${nextTry(server)}`;
}

function summarize(health: EdgeHealth | undefined, error: unknown, loading: boolean): Summary {
  if (error) return { state: "edge-unreachable", tone: "bad", text: "Edge unreachable — retrying" };
  if (loading || !health) return { state: "loading", tone: "neutral", text: "Model server: checking…" };
  const core = health.core;
  if (!core) return { state: "starting", tone: "neutral", text: "Model server: starting…" };
  if (core.breaker === "closed") return { state: "ready", tone: "ok", text: "Model server: ready" };
  if (core.breaker === "half_open") {
    return { state: "testing", tone: "info", text: "Model server: testing…" };
  }
  return { state: "unreachable", tone: "warn", text: `Model server unreachable — ${nextTry(core)}` };
}

function ServerDetail({ name, server, testId }: { name: string; server: ModelServerHealth; testId: string }) {
  return (
    <div className="model-server" data-testid={testId} data-breaker={server.breaker}>
      <p className="model-server-name">
        {name}: {breakerWords(server)}
      </p>
      <dl className="model-server-facts">
        <dt>Address</dt>
        <dd className="mono">{server.url}</dd>
        {server.consecutive_failures > 0 ? (
          <>
            <dt>Failures in a row</dt>
            <dd>{server.consecutive_failures}</dd>
          </>
        ) : null}
        {server.opened_at ? (
          <>
            <dt>Paused since</dt>
            <dd>{formatTime(server.opened_at)}</dd>
          </>
        ) : null}
        {server.last_error ? (
          <>
            <dt>Last error</dt>
            <dd data-testid={`${testId}-error`}>{server.last_error}</dd>
          </>
        ) : null}
      </dl>
    </div>
  );
}

export function ModelStatus() {
  const { data, error, loading } = usePoll(getHealth, POLL_MS);
  const [open, setOpen] = useState(false);
  const detailId = useId();
  const summary = summarize(data, error, loading);
  const core = error ? null : (data?.core ?? null);
  const fallback = error ? null : (data?.fallback ?? null);
  const title = error ? describe(error) : (core?.last_error ?? undefined);
  const hasDetail = Boolean(error) || core !== null;

  return (
    <div className="model-status" data-testid="model-status" data-state={summary.state}>
      <button
        type="button"
        className="model-status-toggle"
        data-tone={summary.tone}
        data-testid="model-status-toggle"
        aria-expanded={hasDetail ? open : undefined}
        aria-controls={hasDetail && open ? detailId : undefined}
        disabled={!hasDetail}
        title={title}
        onClick={() => setOpen((o) => !o)}
      >
        <span className="model-status-dot" aria-hidden="true" />
        <span aria-live="polite" data-testid="model-status-text">
          {summary.text}
        </span>
      </button>
      {hasDetail && open ? (
        <div id={detailId} className="model-status-detail" data-testid="model-status-detail">
          {error ? <p data-testid="model-status-edge-error">{describe(error)}</p> : null}
          {core ? <ServerDetail name="Model server" server={core} testId="model-status-core" /> : null}
          {fallback ? (
            <ServerDetail name="Cloud fallback" server={fallback} testId="model-status-fallback" />
          ) : core ? (
            <p className="muted" data-testid="model-status-no-fallback">
              No cloud fallback is configured.
            </p>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
