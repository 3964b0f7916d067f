"use client";
/** Config: the effective configuration, a preference in plain words turned into a reviewed
 * patch (diff and risk grade), commit, the revisions and rollback. */
import { useId, useState, type FormEvent } from "react";

import {
  commitPatch,
  getEffectiveConfig,
  listRevisions,
  proposePatch,
  rollbackRevision,
} from "@/api/client";
import { ApiError } from "@/api/errors";
import type { ConfigChange, JsonObject, JsonValue, Patch, Revision } from "@/api/resources";
import { RiskBadge } from "@/components/Badges";
import { PageHeader } from "@/components/PageHeader";
import { Empty, ErrorState, InlineError, Loading } from "@/components/States";
import { useMe, useUserName } from "@/lib/auth";
import { formatTime, oneLine, words } from "@/lib/format";
import { useResource } from "@/lib/useResource";

function flatten(value: JsonValue, prefix = ""): [string, JsonValue][] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

function show(value: JsonValue | undefined): string {
  if (value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** `/reply/verbosity` → `reply.verbosity`. */
function dotted(path: string): string {
  return path.replace(/^\//, "").replace(/\//g, ".");
}

function DiffTable({ changes, testId }: { changes: ConfigChange[]; testId?: string }) {
  return (
    <div className="table-wrap" data-testid={testId}>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((c) => (
            <tr key={c.path}>
              <td className="mono">{dotted(c.path)}</td>
              <td className="diff-before mono wrap-any">{show(c.before)}</td>
              <td className="diff-after mono wrap-any">{show(c.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const RISK_MEANING: Record<string, string> = {
  L1: "L1: reply style only.",
  L2: "L2: changes behaviour (memory, tools, routing).",
  L3: "L3: changes security settings (approvals, permissions, auth); commit needs your confirmation.",
};

function Proposal({ patch, isOwner, onCommitted }: { patch: Patch; isOwner: boolean; onCommitted: (r: Revision) => void }) {
  const confirmId = useId();
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const l3 = patch.risk === "L3";

  async function commit() {
    setBusy(true);
    setError(null);
    try {
      onCommitted(await commitPatch(patch.patch_id, confirm));
    } catch (cause) {
      setError(cause);
      setBusy(false);
    }
  }

  return (
    <div className="card stack" data-testid="config-proposal" data-patch-id={patch.patch_id}>
      <div className="row wrap spread">
        <h3 style={{ margin: 0 }}>Proposed change</h3>
        <span data-testid="config-risk" data-risk={patch.risk}>
          <RiskBadge risk={patch.risk} />
        </span>
      </div>
      <p className="muted small-text">{RISK_MEANING[patch.risk] ?? `Risk ${patch.risk}.`}</p>
      {patch.rationale ? <p>{patch.rationale}</p> : null}
      <DiffTable changes={patch.diff} testId="config-diff" />
      {isOwner ? (
        <div className="stack-tight">
          {l3 ? (
            <label htmlFor={confirmId} className="row">
              <input id={confirmId} type="checkbox" checked={confirm} onChange={(e) => setConfirm(e.target.checked)} />
              I understand this changes security settings.
            </label>
          ) : null}
          <div className="row">
            <button
              type="button"
              className="button primary"
              data-testid="config-commit"
              disabled={busy || (l3 && !confirm)}
              onClick={() => void commit()}
            >
              {busy ? "Committing…" : "Commit"}
            </button>
          </div>
        </div>
      ) : (
        <p className="muted small-text">Only the owner commits changes; ask them to commit this proposal ({patch.patch_id}).</p>
      )}
      <InlineError error={error} />
    </div>
  );
}

function RevisionRow({
  revision,
  isOwner,
  rolledBack,
  onRolledBack,
}: {
  revision: Revision;
  isOwner: boolean;
  rolledBack: boolean;
  onRolledBack: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const name = useUserName();
  const conflict = error instanceof ApiError && error.code === "rollback_conflict";

  async function rollback(force: boolean) {
    setBusy(true);
    setError(null);
    try {
      await rollbackRevision(revision.revision_id, force);
      onRolledBack();
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
    }
  }

  const summary = revision.changes.map((c) => `${dotted(c.path)}: ${show(c.before)} → ${show(c.after)}`).join("; ");
  return (
    <tr data-testid="revision-row" data-revision-id={revision.revision_id} data-kind={revision.kind}>
      <td className="mono small-text">{revision.revision_id}</td>
      <td>
        {words(revision.kind)}
        {revision.rolls_back ? <span className="muted small-text"> of {revision.rolls_back}</span> : null}
      </td>
      <td className="small-text">{revision.scope}</td>
      <td className="small-text wrap-any" title={summary}>
        {revision.kind === "seed" ? "the starting configuration" : oneLine(summary, 140) || "—"}
      </td>
      <td className="small-text">
        {revision.committed_by ? name(revision.committed_by) : "system"}
        <br />
        {formatTime(revision.created_at)}
      </td>
      <td>
        {rolledBack ? <span className="muted small-text">rolled back</span> : null}
        {isOwner && revision.kind !== "seed" && !rolledBack ? (
          <div className="stack-tight">
            <button
              type="button"
              className="button small"
              data-testid="revision-rollback"
              disabled={busy}
              onClick={() => void rollback(false)}
            >
              Roll back
            </button>
            {conflict ? (
              <button type="button" className="button small danger" disabled={busy} onClick={() => void rollback(true)}>
                Roll back anyway
              </button>
            ) : null}
            <InlineError error={error} />
          </div>
        ) : null}
      </td>
    </tr>
  );
}

export default function ConfigPage() {
  const me = useMe();
  const preferenceId = useId();
  const scopeId = useId();
  const [scope, setScope] = useState("global");
  const [appliedScope, setAppliedScope] = useState("global");
  const effective = useResource(() => getEffectiveConfig(appliedScope), [appliedScope]);
  const revisions = useResource(() => listRevisions(), []);
  const [text, setText] = useState("");
  const [proposal, setProposal] = useState<{ busy: boolean; error: unknown; patch: Patch | null }>({
    busy: false,
    error: null,
    patch: null,
  });
  const [committed, setCommitted] = useState<Revision | null>(null);

  async function propose(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) return;
    setCommitted(null);
    setProposal({ busy: true, error: null, patch: null });
    try {
      setProposal({ busy: false, error: null, patch: await proposePatch(text.trim(), appliedScope) });
    } catch (error) {
      setProposal({ busy: false, error, patch: null });
    }
  }

  function onCommitted(revision: Revision) {
    setCommitted(revision);
    setProposal({ busy: false, error: null, patch: null });
    setText("");
    effective.reload();
    revisions.reload();
  }

  const examples =
    proposal.error instanceof ApiError && Array.isArray(proposal.error.extra.examples)
      ? proposal.error.extra.examples.filter((e): e is string => typeof e === "string")
      : [];
  const scopes = ["global", `user:${me.user_id}`];
  const rolledBack = new Set((revisions.data?.data ?? []).flatMap((r) => (r.rolls_back ? [r.rolls_back] : [])));

  return (
    <>
      <PageHeader title="Config">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            setAppliedScope(scope.trim() || "global");
          }}
        >
          <label htmlFor={scopeId} className="field-label">
            Scope
          </label>
          <input
            id={scopeId}
            className="input"
            list="config-scopes"
            value={scope}
            onChange={(e) => setScope(e.target.value)}
            data-testid="config-scope"
            size={18}
          />
          <datalist id="config-scopes">
            {scopes.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
          <button type="submit" className="button small">
            Show
          </button>
        </form>
      </PageHeader>

      <section className="section card stack" aria-labelledby="prefer-heading">
        <h2 id="prefer-heading">Say how Steward should behave</h2>
        <form className="stack-tight" onSubmit={(e) => void propose(e)}>
          <label htmlFor={preferenceId} className="field-label">
            Preference <span className="muted">(English or Chinese, e.g. “be more concise”, “reply in English”, “stop using web search”)</span>
          </label>
          <div className="row wrap">
            <input
              id={preferenceId}
              className="input grow"
              data-testid="config-preference-input"
              value={text}
              maxLength={2000}
              onChange={(e) => setText(e.target.value)}
              placeholder="Be more concise"
            />
            <button type="submit" className="button primary" data-testid="config-propose" disabled={proposal.busy || !text.trim()}>
              {proposal.busy ? "Proposing…" : "Propose"}
            </button>
          </div>
        </form>
        {proposal.error ? (
          <div>
            <InlineError error={proposal.error} testId="config-propose-error" />
            {examples.length ? (
              <p className="small-text muted">Edge understands, for example: {examples.map((e) => `“${e}”`).join(", ")}.</p>
            ) : null}
          </div>
        ) : null}
        {proposal.patch ? <Proposal patch={proposal.patch} isOwner={me.isOwner} onCommitted={onCommitted} /> : null}
        {committed ? (
          <p role="status" className="small-text" data-testid="config-committed">
            Committed as revision <span className="mono">{committed.revision_id}</span>; it applies from the next message on.
          </p>
        ) : null}
      </section>

      <section className="section" aria-labelledby="effective-heading">
        <h2 id="effective-heading">
          In force for <span className="mono">{appliedScope}</span>
          {effective.data?.revision ? <span className="muted small-text"> · revision {effective.data.revision}</span> : null}
        </h2>
        {effective.loading && !effective.data ? <Loading label="Loading the configuration…" /> : null}
        {effective.error ? <ErrorState error={effective.error} onRetry={effective.reload} /> : null}
        {effective.data ? <EffectiveView config={effective.data.config} /> : null}
      </section>

      <section className="section" aria-labelledby="revisions-heading" data-testid="config-revisions">
        <h2 id="revisions-heading">Revisions</h2>
        {revisions.loading && !revisions.data ? <Loading label="Loading revisions…" /> : null}
        {revisions.error ? <ErrorState error={revisions.error} onRetry={revisions.reload} /> : null}
        {revisions.data && revisions.data.data.length === 0 ? <Empty>No revisions yet.</Empty> : null}
        {revisions.data && revisions.data.data.length > 0 ? (
          <div className="table-wrap">
            <table className="table responsive">
              <caption className="visually-hidden">Configuration revisions, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Revision</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Scope</th>
                  <th scope="col">Changes</th>
                  <th scope="col">By</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {revisions.data.data.map((r) => (
                  <RevisionRow
                    key={r.revision_id}
                    revision={r}
                    isOwner={me.isOwner}
                    rolledBack={rolledBack.has(r.revision_id)}
                    onRolledBack={() => {
                      revisions.reload();
                      effective.reload();
                    }}
                  />
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
    </>
  );
}

function EffectiveView({ config }: { config: JsonObject }) {
  const rows = flatten(config);
  return (
    <div className="card">
      <dl className="kv" data-testid="config-effective">
        {rows.map(([path, value]) => (
          <div key={path} style={{ display: "contents" }}>
            <dt className="mono">{path}</dt>
            <dd className="mono" data-path={path}>
              {show(value)}
            </dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
