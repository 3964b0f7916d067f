"use client";
/**
 * Who is signed in. The token lives in localStorage; `GET /v1/me` says whose it is and their
 * role. Pages read `useMe()` to hide owner-only actions (Edge refuses them anyway).
 */
import { useRouter } from "next/navigation";
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";

import { clearToken, getMe, getToken, listUsers } from "@/api/client";
import { ApiError } from "@/api/errors";
import type { Me } from "@/api/resources";

export type AuthState =
  | { status: "loading" }
  | { status: "ready"; me: Me }
  | { status: "error"; error: unknown };

interface AuthContextValue {
  state: AuthState;
  /** User names by id (every user for the owner; oneself for a member). */
  names: ReadonlyMap<string, string>;
  retry: () => void;
  signOut: () => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const router = useRouter();
  const [state, setState] = useState<AuthState>({ status: "loading" });
  const [nonce, setNonce] = useState(0);
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());

  useEffect(() => {
    if (!getToken()) {
      router.replace("/signin/");
      return;
    }
    let live = true;
    setState({ status: "loading" });
    getMe()
      .then((me) => {
        if (!live) return;
        setState({ status: "ready", me });
        setNames(new Map([[me.user_id, me.name]]));
        if (me.role === "owner") {
          // Names are a nicety: without them, ids are shown.
          listUsers()
            .then((users) => live && setNames(new Map(users.data.map((u) => [u.user_id, u.name]))))
            .catch(() => undefined);
        }
      })
      .catch((error: unknown) => {
        if (!live) return;
        if (error instanceof ApiError && error.status === 401) {
          clearToken();
          router.replace("/signin/?expired=1");
          return;
        }
        setState({ status: "error", error });
      });
    return () => {
      live = false;
    };
  }, [router, nonce]);

  const retry = useCallback(() => setNonce((n) => n + 1), []);
  const signOut = useCallback(() => {
    clearToken();
    router.replace("/signin/");
  }, [router]);

  return <AuthContext.Provider value={{ state, names, retry, signOut }}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}

/** A function naming a user id ("system" and unknown ids stay as they are). */
export function useUserName(): (id: string | null | undefined) => string {
  const { names } = useAuth();
  return (id) => (id ? names.get(id) ?? id : "—");
}

/** The signed-in user; only call below the shell, which renders pages once this is known. */
export function useMe(): Me & { isOwner: boolean } {
  const { state } = useAuth();
  if (state.status !== "ready") throw new Error("useMe before sign-in finished");
  return { ...state.me, isOwner: state.me.role === "owner" };
}
