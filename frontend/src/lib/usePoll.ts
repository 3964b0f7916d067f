"use client";
/**
 * Load something from Edge now and again every `intervalMs` while the tab is visible: no
 * requests while it is hidden, and one at once when it shows again. A load starts only after
 * the previous one has ended, so a slow Edge never gets a pile of them.
 */
import { useEffect, useRef, useState } from "react";

export interface Poll<T> {
  /** The last answer (kept while a later load fails). */
  data: T | undefined;
  /** Why the last load failed; `null` once one succeeds. */
  error: unknown;
  /** True until the first load ends. */
  loading: boolean;
}

export function usePoll<T>(load: () => Promise<T>, intervalMs: number): Poll<T> {
  const [state, setState] = useState<Poll<T>>({ data: undefined, error: null, loading: true });
  const loader = useRef(load);
  loader.current = load;

  useEffect(() => {
    let stopped = false;
    let inFlight = false;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const hidden = () => typeof document !== "undefined" && document.visibilityState === "hidden";

    const schedule = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (!stopped && !hidden()) timer = setTimeout(tick, intervalMs);
    };

    const tick = () => {
      timer = undefined;
      if (stopped || inFlight || hidden()) return;
      inFlight = true;
      loader
        .current()
        .then(
          (data) => {
            if (!stopped) setState({ data, error: null, loading: false });
          },
          (error: unknown) => {
            if (!stopped) setState((s) => ({ data: s.data, error, loading: false }));
          },
        )
        .finally(() => {
          inFlight = false;
          schedule();
        });
    };

    const onVisibility = () => {
      if (hidden()) {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
      } else if (timer === undefined && !inFlight) {
        tick();
      }
    };

    tick();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [intervalMs]);

  return state;
}
