"use client";
/** Sign in with a token: it is checked with `GET /v1/me`, then kept in this browser. */
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useState, type FormEvent } from "react";

import { clearToken, getMe, setToken } from "@/api/client";
import { ApiError, describe } from "@/api/errors";

function SignInForm() {
  const router = useRouter();
  const expired = useSearchParams().get("expired") === "1";
  const [token, setTokenText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError("Paste your token first: the owner's token was printed when `steward up` first started.");
      return;
    }
    setBusy(true);
    setError(null);
    setToken(value);
    try {
      await getMe();
      router.replace("/chat/");
    } catch (cause) {
      clearToken();
      setError(
        cause instanceof ApiError && cause.status === 401
          ? "Edge does not know this token (unknown or revoked). Check it and try again; `steward users add NAME` makes a new one."
          : describe(cause),
      );
      setBusy(false);
    }
  }

  return (
    <form className="card signin" onSubmit={(e) => void submit(e)} noValidate>
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">S</span>
        <span>Steward</span>
      </div>
      <h1>Sign in</h1>
      <p className="muted">
        Paste your token. The owner&apos;s token is printed once when <code>steward up</code> first starts;
        the owner can add members with <code>steward users add NAME</code>.
      </p>
      {expired ? (
        <p className="notice" role="status">
          Your previous token is no longer valid; sign in again.
        </p>
      ) : null}
      <label htmlFor="token" className="field-label">
        Token
      </label>
      <input
        id="token"
        name="token"
        type="password"
        autoComplete="current-password"
        className="input"
        data-testid="signin-token"
        value={token}
        onChange={(e) => setTokenText(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "signin-error" : undefined}
        autoFocus
      />
      {error ? (
        <p id="signin-error" className="inline-error" role="alert" data-testid="signin-error">
          {error}
        </p>
      ) : null}
      <button type="submit" className="button primary" data-testid="signin-submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

export default function SignInPage() {
  return (
    <main className="centered">
      <Suspense fallback={null}>
        <SignInForm />
      </Suspense>
    </main>
  );
}
