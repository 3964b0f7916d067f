"use client";
/** Approvals: pending requests first (the owner decides, with a reason), then the history. */
import Link from "next/link";

import { listApprovals } from "@/api/client";
import type { Approval } from "@/api/resources";
import { ApprovalActions } from "@/components/ApprovalActions";
import { RiskBadge, StatusBadge } from "@/components/Badges";
import { JsonBlock } from "@/components/JsonBlock";
import { PageHeader } from "@/components/PageHeader";
import { Empty, ErrorState, Loading } from "@/components/States";
import { useMe, useUserName } from "@/lib/auth";
import { formatTime } from "@/lib/format";
import { useResource } from "@/lib/useResource";

function ApprovalRow({ approval, isOwner, onDecided }: { approval: Approval; isOwner: boolean; onDecided: () => void }) {
  const pending = approval.status === "pending";
  const tool = approval.tool ?? approval.tool_call?.tool ?? "tool";
  const name = useUserName();
  return (
    <li className="card stack-tight" data-testid="approval-row" data-status={approval.status} data-approval-id={approval.approval_id}>
      <div className="row wrap spread">
        <div className="row wrap">
          <span className="tool-name">{tool}</span>
          <RiskBadge risk={approval.risk ?? null} />
          <StatusBadge status={approval.status} />
        </div>
        <span className="muted small-text">
          requested by {name(approval.requested_by)} · {formatTime(approval.created_at)}
        </span>
      </div>
      <details open={pending}>
        <summary>Arguments</summary>
        <JsonBlock value={approval.args ?? approval.tool_call?.args ?? null} label={`Arguments of ${tool}`} />
      </details>
      {!pending ? (
        <p className="small-text">
          {approval.decided_by ? `Decided by ${name(approval.decided_by)}` : "Decided"} · {formatTime(approval.decided_at)}
          {approval.reason ? ` · “${approval.reason}”` : ""}
        </p>
      ) : null}
      {pending && approval.expires_at ? (
        <p className="muted small-text">Expires {formatTime(approval.expires_at)} if nobody decides.</p>
      ) : null}
      <p className="small-text row wrap">
        {approval.task_id ? <Link href={`/audit/?task=${encodeURIComponent(approval.task_id)}`}>Audit of the task</Link> : null}
        {approval.conversation_id ? (
          <Link href={`/chat/?c=${encodeURIComponent(approval.conversation_id)}`}>Open the conversation</Link>
        ) : null}
      </p>
      {pending && isOwner ? (
        <ApprovalActions approvalId={approval.approval_id} tool={tool} onDecided={onDecided} />
      ) : null}
      {pending && !isOwner ? <p className="muted small-text">Waiting for the owner&apos;s decision.</p> : null}
    </li>
  );
}

export default function ApprovalsPage() {
  const me = useMe();
  const approvals = useResource(() => listApprovals(), []);
  const all = approvals.data?.data ?? [];
  const pending = all.filter((a) => a.status === "pending");
  const history = all.filter((a) => a.status !== "pending");

  return (
    <>
      <PageHeader title="Approvals">
        <button type="button" className="button small" onClick={approvals.reload}>
          Refresh
        </button>
      </PageHeader>
      {approvals.loading && !approvals.data ? <Loading label="Loading approvals…" /> : null}
      {approvals.error ? <ErrorState error={approvals.error} onRetry={approvals.reload} /> : null}
      {approvals.data && all.length === 0 ? (
        <Empty>No approval requests yet. Tools that write outside Steward ask here before they run.</Empty>
      ) : null}
      {approvals.data && all.length > 0 ? (
        <>
          <section className="section" aria-labelledby="pending-heading" data-testid="approvals-pending">
            <h2 id="pending-heading">Pending ({pending.length})</h2>
            {pending.length === 0 ? (
              <p className="muted">Nothing is waiting for a decision.</p>
            ) : (
              <ul className="list">
                {pending.map((a) => (
                  <ApprovalRow key={a.approval_id} approval={a} isOwner={me.isOwner} onDecided={approvals.reload} />
                ))}
              </ul>
            )}
          </section>
          <section className="section" aria-labelledby="history-heading" data-testid="approvals-history">
            <h2 id="history-heading">History</h2>
            {history.length === 0 ? (
              <p className="muted">No decisions yet.</p>
            ) : (
              <ul className="list">
                {history.map((a) => (
                  <ApprovalRow key={a.approval_id} approval={a} isOwner={me.isOwner} onDecided={approvals.reload} />
                ))}
              </ul>
            )}
          </section>
        </>
      ) : null}
    </>
  );
}
