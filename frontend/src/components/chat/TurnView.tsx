"use client";
/**
 * One turn of a conversation: the user's message, the tool calls the task made (with their
 * state and, while one awaits approval, the approval card), and Steward's reply — streamed
 * token by token while it arrives.
 */
import Link from "next/link";
import { useState } from "react";

import { cancelTask } from "@/api/client";
import type { Approval } from "@/api/resources";
import { ApprovalActions } from "@/components/ApprovalActions";
import { RiskBadge, StatusBadge } from "@/components/Badges";
import { JsonBlock } from "@/components/JsonBlock";
import { InlineError } from "@/components/States";
import { useUserName } from "@/lib/auth";
import { formatTime, words } from "@/lib/format";
import { isFinished, type TaskStory, type ToolCallView } from "@/lib/story";

interface Props {
  story: TaskStory;
  isOwner: boolean;
  reconnecting: boolean;
  onApprovalDecided: (toolCallId: string, approval: Approval) => void;
}

export function TurnView({ story, isOwner, reconnecting, onApprovalDecided }: Props) {
  return (
    <section className="turn" aria-label={`Turn started ${formatTime(story.createdAt)}`} data-task-id={story.taskId}>
      <article className="message" data-testid="message" data-role="user">
        {story.input}
      </article>
      {story.toolCalls.map((call) => (
        <ToolCallCard
          key={call.toolCallId}
          call={call}
          isOwner={isOwner}
          onDecided={(approval) => onApprovalDecided(call.toolCallId, approval)}
        />
      ))}
      <AssistantMessage story={story} reconnecting={reconnecting} />
    </section>
  );
}

function ToolCallCard({
  call,
  isOwner,
  onDecided,
}: {
  call: ToolCallView;
  isOwner: boolean;
  onDecided: (approval: Approval) => void;
}) {
  const pending = call.approval === "pending" && call.approvalId !== null;
  const name = useUserName();
  return (
    <div className="tool-call" data-testid="tool-call" data-status={call.status} data-tool={call.tool}>
      <div className="row wrap">
        <span className="muted small-text">Tool</span>
        <span className="tool-name">{call.tool}</span>
        <StatusBadge status={call.status} />
        {call.risk ? <RiskBadge risk={call.risk} /> : null}
      </div>
      {call.args !== null ? (
        <details>
          <summary>Arguments</summary>
          <JsonBlock value={call.args} label={`Arguments of ${call.tool}`} />
        </details>
      ) : null}
      {call.result !== null ? (
        <details>
          <summary>Result</summary>
          <JsonBlock value={call.result} label={`Result of ${call.tool}`} />
        </details>
      ) : null}
      {call.error ? <p className="inline-error">{call.error}</p> : null}
      {call.approval && call.approval !== "pending" ? (
        <p className="muted small-text">
          {words(call.approval)}
          {call.decidedBy ? ` by ${name(call.decidedBy)}` : ""}
          {call.reason ? `: “${call.reason}”` : ""}
        </p>
      ) : null}
      {pending ? (
        <div className="approval-card" data-testid="approval-card" data-approval-id={call.approvalId ?? undefined}>
          <p>
            <strong>Approval needed.</strong> Steward wants to run <span className="tool-name">{call.tool}</span>
            {call.risk ? ` (${words(call.risk)})` : ""}.{" "}
            {isOwner
              ? "Approve to run it once, or reject to refuse; the task continues either way."
              : "The owner decides; this turn continues once they do."}
          </p>
          {isOwner && call.approvalId ? (
            <ApprovalActions approvalId={call.approvalId} tool={call.tool} onDecided={onDecided} />
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function AssistantMessage({ story, reconnecting }: { story: TaskStory; reconnecting: boolean }) {
  const [cancelError, setCancelError] = useState<unknown>(null);
  const [cancelling, setCancelling] = useState(false);
  const finished = isFinished(story.status);
  const waiting = story.status === "waiting_approval";
  const streaming = !finished && !waiting && story.reply === null;

  async function cancel() {
    setCancelling(true);
    setCancelError(null);
    try {
      await cancelTask(story.taskId);
    } catch (cause) {
      setCancelError(cause);
    } finally {
      setCancelling(false);
    }
  }

  if (waiting && story.reply === null) {
    return (
      <p className="muted small-text" role="status">
        Waiting for the owner&apos;s approval before continuing.{" "}
        <Link href={`/audit/?task=${encodeURIComponent(story.taskId)}`}>Audit</Link>
      </p>
    );
  }

  const failed = story.status === "failed";
  const cancelled = story.status === "cancelled" && story.reply === null;
  let body: React.ReactNode = story.reply;
  if (streaming) {
    body = (
      <span data-testid="message-streaming">
        {story.streamText || <span className="muted">{story.status === "queued" ? "Queued…" : "Thinking…"}</span>}
        <span className="caret" aria-hidden="true" />
      </span>
    );
  } else if (failed && story.reply === null) {
    body = `The task failed: ${story.error ?? "no reason was recorded"}. The audit shows each step; send the message again to retry.`;
  } else if (cancelled) {
    body = `Cancelled${story.error ? `: ${story.error}` : "."}`;
  }

  return (
    <>
      <article
        className={`message${failed ? " failed" : ""}`}
        data-testid="message"
        data-role="assistant"
        data-status={story.status}
        data-streaming={streaming ? "true" : undefined}
        aria-live="polite"
        aria-busy={streaming}
      >
        {body}
      </article>
      <div className="message-meta">
        {!finished || failed || cancelled ? <StatusBadge status={story.status} /> : null}
        {reconnecting && !finished ? <span role="status">Reconnecting…</span> : null}
        <Link href={`/audit/?task=${encodeURIComponent(story.taskId)}`} aria-label="Audit of this turn">
          Audit
        </Link>
        {!finished ? (
          <button type="button" className="button subtle small" onClick={() => void cancel()} disabled={cancelling}>
            {cancelling ? "Cancelling…" : "Cancel"}
          </button>
        ) : null}
        <InlineError error={cancelError} />
      </div>
    </>
  );
}
