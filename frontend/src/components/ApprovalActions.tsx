"use client";
/** The owner's decision on an approval: an optional reason, then approve or reject. */
import { useId, useState } from "react";

import { approveApproval, rejectApproval } from "@/api/client";
import type { Approval } from "@/api/resources";

import { InlineError } from "./States";

interface Props {
  approvalId: string;
  tool: string;
  onDecided?: (approval: Approval) => void;
}

export function ApprovalActions({ approvalId, tool, onDecided }: Props) {
  const reasonId = useId();
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState<"approve" | "reject" | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function decide(kind: "approve" | "reject") {
    setBusy(kind);
    setError(null);
    try {
      const why = reason.trim() || null;
      const approval = kind === "approve" ? await approveApproval(approvalId, why) : await rejectApproval(approvalId, why);
      onDecided?.(approval);
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div className="approval-actions">
      <label htmlFor={reasonId} className="field-label">
        Reason <span className="muted">(optional, recorded in the ledger)</span>
      </label>
      <div className="row wrap">
        <input
          id={reasonId}
          className="input grow"
          data-testid="approval-reason"
          value={reason}
          maxLength={2000}
          onChange={(e) => setReason(e.target.value)}
          placeholder={`Why approve or reject ${tool}?`}
        />
        <button
          type="button"
          className="button primary"
          data-testid="approval-approve"
          disabled={busy !== null}
          onClick={() => void decide("approve")}
        >
          {busy === "approve" ? "Approving…" : "Approve"}
        </button>
        <button
          type="button"
          className="button danger"
          data-testid="approval-reject"
          disabled={busy !== null}
          onClick={() => void decide("reject")}
        >
          {busy === "reject" ? "Rejecting…" : "Reject"}
        </button>
      </div>
      <InlineError error={error} testId="approval-error" />
    </div>
  );
}
