"use client";
/**
 * The frame of every signed-in page: the sidebar with the seven sections (a top bar at narrow
 * widths), whether the model server answers, who is signed in, and sign out. Pages render only once the user is known, so they
 * can ask `useMe()` for the role.
 */
import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ReactNode } from "react";

import { AuthProvider, useAuth } from "@/lib/auth";

import { ModelStatus } from "./ModelStatus";
import { ErrorState, Loading } from "./States";

const SECTIONS = [
  { href: "/chat/", label: "Chat", id: "chat" },
  { href: "/tasks/", label: "Tasks", id: "tasks" },
  { href: "/approvals/", label: "Approvals", id: "approvals" },
  { href: "/memory/", label: "Memory", id: "memory" },
  { href: "/config/", label: "Config", id: "config" },
  { href: "/tools/", label: "Tools", id: "tools" },
  { href: "/audit/", label: "Audit", id: "audit" },
] as const;

/** Pages that need no sign-in render bare; every other page gets the shell. */
export function Frame({ children }: { children: ReactNode }) {
  const pathname = usePathname() ?? "/";
  if (pathname === "/" || pathname.startsWith("/signin")) return <>{children}</>;
  return (
    <AuthProvider>
      <Shell>{children}</Shell>
    </AuthProvider>
  );
}

function Shell({ children }: { children: ReactNode }) {
  const pathname = usePathname() ?? "/";
  const { state, retry, signOut } = useAuth();

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">S</span>
          <span>Steward</span>
        </div>
        <nav aria-label="Sections">
          <ul className="nav-list">
            {SECTIONS.map((s) => {
              const current = pathname.startsWith(s.href) || pathname === s.href.slice(0, -1);
              return (
                <li key={s.id}>
                  <Link
                    href={s.href}
                    className="nav-link"
                    data-testid={`nav-${s.id}`}
                    aria-current={current ? "page" : undefined}
                  >
                    {s.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <ModelStatus />
        <div className="who">
          {state.status === "ready" ? (
            <p className="whoami" data-testid="whoami">
              <span className="who-name">{state.me.name}</span>{" "}
              <span className={`badge tone-${state.me.role === "owner" ? "info" : "neutral"}`}>{state.me.role}</span>
            </p>
          ) : null}
          <button type="button" className="button subtle small" data-testid="signout" onClick={signOut}>
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        {state.status === "loading" ? <Loading label="Checking your sign-in…" /> : null}
        {state.status === "error" ? <ErrorState error={state.error} onRetry={retry} /> : null}
        {state.status === "ready" ? children : null}
      </main>
    </div>
  );
}
