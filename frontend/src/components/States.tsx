"use client";
/** The three states every page shows: loading, empty and error (saying what to do). */
import Link from "next/link";
import type { ReactNode } from "react";

import { ApiError, describe } from "@/api/errors";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite" data-testid="state-loading">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="state state-empty" data-testid="state-empty">
      {children}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const signIn = error instanceof ApiError && error.needsSignIn;
  return (
    <div className="state state-error" role="alert" data-testid="state-error">
      <p>{describe(error)}</p>
      <div className="row">
        {signIn ? (
          <Link className="button" href="/signin/">
            Sign in again
          </Link>
        ) : null}
        {onRetry && !signIn ? (
          <button type="button" className="button" onClick={onRetry}>
            Try again
          </button>
        ) : null}
      </div>
    </div>
  );
}

/** An inline error next to the control that failed (not a page state). */
export function InlineError({ error, testId }: { error: unknown; testId?: string }) {
  if (!error) return null;
  return (
    <p className="inline-error" role="alert" data-testid={testId}>
      {describe(error)}
    </p>
  );
}
