"use client";
/** Memory: ask what Steward remembers (with scores), review candidates beside the item each
 * would supersede, and see or delete the items. */
import { useId, useState, type FormEvent } from "react";

import {
  approveCandidate,
  deleteMemoryItem,
  listCandidates,
  listMemoryItems,
  queryMemory,
  rejectCandidate,
  writeMemory,
} from "@/api/client";
import type { JsonValue, MemoryCandidate, MemoryItem } from "@/api/resources";
import { PageHeader } from "@/components/PageHeader";
import { Empty, ErrorState, InlineError, Loading } from "@/components/States";
import { useMe } from "@/lib/auth";
import { formatTime, words } from "@/lib/format";
import { useResource } from "@/lib/useResource";

function Facts({ item }: { item: Pick<MemoryItem, "kind" | "origin" | "confidence" | "created_at"> }) {
  return (
    <span className="muted small-text">
      {words(item.kind)} · from {item.origin}
      {item.confidence !== null ? ` · confidence ${item.confidence.toFixed(2)}` : ""} · {formatTime(item.created_at)}
    </span>
  );
}

function reasonsText(reasons: JsonValue): string {
  if (Array.isArray(reasons)) return reasons.map((r) => (typeof r === "string" ? words(r) : JSON.stringify(r))).join(", ");
  if (typeof reasons === "string") return words(reasons);
  return "";
}

function QuerySection() {
  const inputId = useId();
  const [text, setText] = useState("");
  const [state, setState] = useState<{ busy: boolean; error: unknown; results: MemoryItem[] | null }>({
    busy: false,
    error: null,
    results: null,
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) return;
    setState({ busy: true, error: null, results: state.results });
    try {
      const page = await queryMemory(text.trim());
      setState({ busy: false, error: null, results: page.data });
    } catch (error) {
      setState({ busy: false, error, results: null });
    }
  }

  return (
    <section className="section card" aria-labelledby="query-heading" data-testid="memory-query">
      <h2 id="query-heading">Ask what Steward remembers</h2>
      <form className="row wrap" onSubmit={(e) => void submit(e)} role="search">
        <label htmlFor={inputId} className="visually-hidden">
          Memory query
        </label>
        <input
          id={inputId}
          className="input grow"
          data-testid="memory-query-input"
          placeholder="e.g. what do I like to drink?"
          value={text}
          maxLength={2000}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="button primary" data-testid="memory-query-submit" disabled={state.busy || !text.trim()}>
          {state.busy ? "Searching…" : "Search"}
        </button>
      </form>
      <div style={{ marginTop: "0.75rem" }}>
        {state.busy ? <Loading label="Searching memories…" /> : null}
        {state.error ? <ErrorState error={state.error} /> : null}
        {!state.busy && state.results && state.results.length === 0 ? (
          <Empty>Nothing remembered matches that. Try other words.</Empty>
        ) : null}
        {!state.busy && state.results && state.results.length > 0 ? (
          <ol className="list" aria-label="Results, best first">
            {state.results.map((item) => (
              <li key={item.memory_id} className="row wrap" data-testid="memory-result" data-memory-id={item.memory_id}>
                <span className="score" data-testid="memory-score" title="Cosine similarity">
                  {(item.score ?? 0).toFixed(3)}
                </span>
                <span className="grow wrap-any">{item.text}</span>
                <Facts item={item} />
              </li>
            ))}
          </ol>
        ) : null}
      </div>
    </section>
  );
}

function CandidateRow({ candidate, isOwner, onDone }: { candidate: MemoryCandidate; isOwner: boolean; onDone: () => void }) {
  const reasonId = useId();
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function decide(approve: boolean) {
    setBusy(true);
    setError(null);
    try {
      const why = reason.trim() || null;
      if (approve) await approveCandidate(candidate.candidate_id, why);
      else await rejectCandidate(candidate.candidate_id, why);
      onDone();
    } catch (cause) {
      setError(cause);
      setBusy(false);
    }
  }

  const superseded = candidate.superseded_item;
  return (
    <li className="card stack-tight" data-testid="candidate-row" data-candidate-id={candidate.candidate_id}>
      <div className={superseded || candidate.supersedes ? "two-col" : undefined}>
        <div className="stack-tight">
          <span className="muted small-text">Candidate</span>
          <p className="wrap-any" style={{ margin: 0 }}>
            {candidate.text}
          </p>
          <Facts item={candidate} />
          {reasonsText(candidate.reasons) ? (
            <span className="small-text">Needs review: {reasonsText(candidate.reasons)}</span>
          ) : null}
        </div>
        {superseded || candidate.supersedes ? (
          <div className="stack-tight" data-testid="candidate-supersedes">
            <span className="muted small-text">Would supersede</span>
            <p className="wrap-any diff-before" style={{ margin: 0 }}>
              {superseded?.text ?? candidate.supersedes}
            </p>
            {superseded ? <Facts item={superseded} /> : null}
          </div>
        ) : null}
      </div>
      {isOwner ? (
        <div className="row wrap">
          <label htmlFor={reasonId} className="visually-hidden">
            Reason for the decision
          </label>
          <input
            id={reasonId}
            className="input grow"
            data-testid="candidate-reason"
            placeholder="Reason (optional)"
            value={reason}
            maxLength={1000}
            onChange={(e) => setReason(e.target.value)}
          />
          <button type="button" className="button primary" data-testid="candidate-approve" disabled={busy} onClick={() => void decide(true)}>
            Remember
          </button>
          <button type="button" className="button danger" data-testid="candidate-reject" disabled={busy} onClick={() => void decide(false)}>
            Reject
          </button>
        </div>
      ) : (
        <p className="muted small-text">The owner reviews candidates before Steward trusts them.</p>
      )}
      <InlineError error={error} />
    </li>
  );
}

function ItemRow({ item, isOwner, onDeleted }: { item: MemoryItem; isOwner: boolean; onDeleted: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await deleteMemoryItem(item.memory_id);
      onDeleted();
    } catch (cause) {
      setError(cause);
      setBusy(false);
    }
  }

  return (
    <li className="card" data-testid="memory-item-row" data-memory-id={item.memory_id}>
      <div className="row wrap spread">
        <div className="stack-tight grow">
          <span className="wrap-any">{item.text}</span>
          <Facts item={item} />
        </div>
        {isOwner ? (
          <button
            type="button"
            className="button danger small"
            data-testid="memory-item-delete"
            disabled={busy}
            onClick={() => void remove()}
            aria-label={`Forget: ${item.text}`}
          >
            {busy ? "Deleting…" : "Delete"}
          </button>
        ) : null}
      </div>
      <InlineError error={error} />
    </li>
  );
}

const OUTCOME: Record<string, string> = {
  stored: "Remembered.",
  merged: "Already known: merged into the same memory.",
  candidate: "Kept as a candidate for the owner to review (uncertain, sensitive or contradicting).",
};

function WriteSection({ onWritten }: { onWritten: () => void }) {
  const inputId = useId();
  const [text, setText] = useState("");
  const [state, setState] = useState<{ busy: boolean; error: unknown; outcome: string | null }>({
    busy: false,
    error: null,
    outcome: null,
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) return;
    setState({ busy: true, error: null, outcome: null });
    try {
      const result = await writeMemory(text.trim());
      setState({ busy: false, error: null, outcome: OUTCOME[result.status] ?? result.status });
      setText("");
      onWritten();
    } catch (error) {
      setState({ busy: false, error, outcome: null });
    }
  }

  return (
    <details className="section card">
      <summary>Tell Steward something to remember</summary>
      <form className="row wrap" onSubmit={(e) => void submit(e)}>
        <label htmlFor={inputId} className="visually-hidden">
          Something to remember
        </label>
        <input
          id={inputId}
          className="input grow"
          data-testid="memory-write-input"
          placeholder="e.g. I prefer green tea"
          value={text}
          maxLength={2000}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="button" data-testid="memory-write-submit" disabled={state.busy || !text.trim()}>
          {state.busy ? "Saving…" : "Remember"}
        </button>
      </form>
      {state.outcome ? (
        <p role="status" className="small-text" style={{ marginTop: "0.5rem" }}>
          {state.outcome}
        </p>
      ) : null}
      <InlineError error={state.error} />
    </details>
  );
}

export default function MemoryPage() {
  const me = useMe();
  const candidates = useResource(() => listCandidates(), []);
  const items = useResource(() => listMemoryItems(), []);
  const refresh = () => {
    candidates.reload();
    items.reload();
  };

  return (
    <>
      <PageHeader title="Memory">
        <button type="button" className="button small" onClick={refresh}>
          Refresh
        </button>
      </PageHeader>
      <QuerySection />
      <WriteSection onWritten={refresh} />
      <section className="section" aria-labelledby="candidates-heading" data-testid="memory-candidates">
        <h2 id="candidates-heading">Candidates to review</h2>
        {candidates.loading && !candidates.data ? <Loading label="Loading candidates…" /> : null}
        {candidates.error ? <ErrorState error={candidates.error} onRetry={candidates.reload} /> : null}
        {candidates.data && candidates.data.data.length === 0 ? (
          <Empty>No candidates. Uncertain or sensitive memories wait here for the owner.</Empty>
        ) : null}
        {candidates.data && candidates.data.data.length > 0 ? (
          <ul className="list">
            {candidates.data.data.map((c) => (
              <CandidateRow key={c.candidate_id} candidate={c} isOwner={me.isOwner} onDone={refresh} />
            ))}
          </ul>
        ) : null}
      </section>
      <section className="section" aria-labelledby="items-heading" data-testid="memory-items">
        <h2 id="items-heading">Remembered</h2>
        {items.loading && !items.data ? <Loading label="Loading memories…" /> : null}
        {items.error ? <ErrorState error={items.error} onRetry={items.reload} /> : null}
        {items.data && items.data.data.length === 0 ? (
          <Empty>Nothing remembered yet. Tell Steward something about you in Chat.</Empty>
        ) : null}
        {items.data && items.data.data.length > 0 ? (
          <ul className="list">
            {items.data.data.map((item) => (
              <ItemRow key={item.memory_id} item={item} isOwner={me.isOwner} onDeleted={items.reload} />
            ))}
          </ul>
        ) : null}
      </section>
    </>
  );
}
