"use client";
/**
 * Load something from Edge when the page (or a dependency) changes: `loading`, `error` and
 * `data`, plus `reload`. A newer load wins over an older one still in flight.
 */
import { useCallback, useEffect, useRef, useState } from "react";

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (update: (current: T | undefined) => T | undefined) => void;
}

export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const [data, setDataState] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [nonce, setNonce] = useState(0);
  const generation = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    setError(null);
    loader
      .current()
      .then((value) => {
        if (generation.current !== mine) return;
        setDataState(value);
        setLoading(false);
      })
      .catch((cause: unknown) => {
        if (generation.current !== mine) return;
        setError(cause);
        setLoading(false);
      });
    // The caller names the dependencies; `load` itself changes every render.
  }, [...deps, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const setData = useCallback(
    (update: (current: T | undefined) => T | undefined) => setDataState(update),
    [],
  );
  return { data, error, loading, reload, setData };
}
