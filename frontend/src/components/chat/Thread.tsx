"use client";
/**
 * A conversation's turns and the composer. Reload-safe: on load it rebuilds every turn from
 * the conversation's tasks and ledger timeline, then follows each unfinished task's event
 * stream from where the timeline left off (the stream resumes by `Last-Event-ID` if the
 * connection drops).
 */
import { useCallback, useEffect, useId, useRef, useState, type KeyboardEvent } from "react";

import { conversationTimeline, followTask, listTasks, sendMessage } from "@/api/client";
import type { Approval, Task } from "@/api/resources";
import { ErrorState, InlineError, Loading } from "@/components/States";
import { randomKey } from "@/lib/format";
import {
  applyDelta,
  applyEvent,
  isFinished,
  newStory,
  storyFromTask,
  type ApprovalState,
  type TaskStory,
} from "@/lib/story";

import { TurnView } from "./TurnView";

interface Props {
  conversationId: string | null;
  isOwner: boolean;
  /** A message started a new conversation. */
  onCreated: (conversationId: string) => void;
  /** Something changed that the conversation list shows (a new message, a finished task). */
  onActivity: () => void;
}

async function allTasks(conversationId: string): Promise<Task[]> {
  const tasks: Task[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listTasks({ conversationId, cursor, limit: 500 });
    tasks.push(...page.data);
    if (!page.next_cursor) return tasks;
    cursor = page.next_cursor;
  }
}

async function loadStories(conversationId: string): Promise<TaskStory[]> {
  const [tasks, events] = await Promise.all([allTasks(conversationId), conversationTimeline(conversationId)]);
  // Tasks come newest first; turns read oldest first.
  const stories = new Map(tasks.reverse().map((t) => [t.task_id, storyFromTask(t)]));
  for (const event of events) {
    const story = event.task_id ? stories.get(event.task_id) : undefined;
    if (story) stories.set(story.taskId, applyEvent(story, event));
  }
  return [...stories.values()];
}

const DECIDED: readonly string[] = ["approved", "rejected", "expired"];

export function Thread({ conversationId, isOwner, onCreated, onActivity }: Props) {
  const [stories, setStories] = useState<TaskStory[]>([]);
  const [loading, setLoading] = useState(conversationId !== null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [nonce, setNonce] = useState(0);
  const [reconnecting, setReconnecting] = useState<Record<string, boolean>>({});
  const [streamErrors, setStreamErrors] = useState<unknown>(null);
  const following = useRef(new Map<string, AbortController>());
  const created = useRef<string | null>(null);
  const threadRef = useRef<HTMLDivElement>(null);
  const activity = useRef(onActivity);
  activity.current = onActivity;

  const update = useCallback((taskId: string, change: (s: TaskStory) => TaskStory) => {
    setStories((prev) => prev.map((s) => (s.taskId === taskId ? change(s) : s)));
  }, []);

  const follow = useCallback(
    (story: TaskStory) => {
      if (following.current.has(story.taskId)) return;
      const controller = new AbortController();
      following.current.set(story.taskId, controller);
      followTask(
        story.taskId,
        {
          onEvent: (event, id) => update(story.taskId, (s) => applyEvent(s, event, id)),
          onDelta: (delta, id) => update(story.taskId, (s) => applyDelta(s, delta, id)),
          onReconnecting: (on) => setReconnecting((r) => ({ ...r, [story.taskId]: on })),
        },
        controller.signal,
        story.lastFrameId ?? undefined,
      )
        .then(() => {
          if (!controller.signal.aborted) activity.current();
        })
        .catch((error: unknown) => setStreamErrors(error))
        .finally(() => {
          if (following.current.get(story.taskId) === controller) following.current.delete(story.taskId);
        });
    },
    [update],
  );

  const stopAll = useCallback(() => {
    for (const controller of following.current.values()) controller.abort();
    following.current.clear();
  }, []);

  useEffect(() => stopAll, [stopAll]);

  useEffect(() => {
    // A conversation this thread just started is already on screen and being followed.
    if (conversationId !== null && conversationId === created.current) return;
    created.current = null;
    stopAll();
    setStories([]);
    setLoadError(null);
    setStreamErrors(null);
    if (conversationId === null) {
      setLoading(false);
      return;
    }
    let live = true;
    setLoading(true);
    loadStories(conversationId)
      .then((loaded) => {
        if (!live) return;
        setStories(loaded);
        setLoading(false);
        for (const story of loaded) if (!isFinished(story.status)) follow(story);
      })
      .catch((error: unknown) => {
        if (!live) return;
        setLoadError(error);
        setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [conversationId, nonce, follow, stopAll]);

  // Keep the newest content in view while it streams, unless the reader scrolled up.
  useEffect(() => {
    const el = threadRef.current;
    if (!el || el.scrollHeight <= el.clientHeight) return;
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 160) el.scrollTop = el.scrollHeight;
  }, [stories]);

  const onApprovalDecided = useCallback(
    (taskId: string, toolCallId: string, approval: Approval) => {
      const state = DECIDED.includes(approval.status) ? (approval.status as ApprovalState) : null;
      if (!state) return;
      update(taskId, (s) => ({
        ...s,
        toolCalls: s.toolCalls.map((c) =>
          c.toolCallId === toolCallId
            ? { ...c, approval: state, decidedBy: approval.decided_by, reason: approval.reason }
            : c,
        ),
      }));
    },
    [update],
  );

  async function send(text: string, key: string): Promise<void> {
    const accepted = await sendMessage(text, conversationId, key);
    const story = newStory(accepted.task_id, accepted.conversation_id, text);
    setStories((prev) => (prev.some((s) => s.taskId === story.taskId) ? prev : [...prev, story]));
    follow(story);
    if (conversationId === null) {
      created.current = accepted.conversation_id;
      onCreated(accepted.conversation_id);
    }
    activity.current();
    requestAnimationFrame(() => {
      const el = threadRef.current;
      if (el) el.scrollTop = el.scrollHeight;
    });
  }

  return (
    <div className="thread-pane">
      <div className="thread" ref={threadRef} aria-label="Conversation" role="log">
        {loading ? <Loading label="Loading the conversation…" /> : null}
        {loadError ? <ErrorState error={loadError} onRetry={() => setNonce((n) => n + 1)} /> : null}
        {!loading && !loadError && stories.length === 0 ? (
          <div className="state">
            {conversationId === null
              ? "Start a new conversation: type a message below. Enter sends, Shift+Enter adds a line."
              : "This conversation has no messages yet."}
          </div>
        ) : null}
        {stories.map((story) => (
          <TurnView
            key={story.taskId}
            story={story}
            isOwner={isOwner}
            reconnecting={reconnecting[story.taskId] ?? false}
            onApprovalDecided={(toolCallId, approval) => onApprovalDecided(story.taskId, toolCallId, approval)}
          />
        ))}
        <InlineError error={streamErrors} />
      </div>
      <Composer onSend={send} disabled={loading || loadError !== null} />
    </div>
  );
}

function Composer({ onSend, disabled }: { onSend: (text: string, key: string) => Promise<void>; disabled: boolean }) {
  const inputId = useId();
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // One key per draft: a retry after a failure that may have reached Edge is the same message.
  const key = useRef(randomKey());
  const input = useRef<HTMLTextAreaElement>(null);

  async function submit() {
    const value = text.trim();
    if (!value || busy || disabled) return;
    setBusy(true);
    setError(null);
    try {
      await onSend(value, key.current);
      setText("");
      key.current = randomKey();
    } catch (cause) {
      setError(cause);
    } finally {
      setBusy(false);
      input.current?.focus();
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label htmlFor={inputId} className="visually-hidden">
        Message to Steward
      </label>
      <div className="composer-row">
        <textarea
          id={inputId}
          ref={input}
          className="textarea"
          data-testid="chat-input"
          rows={2}
          placeholder="Message Steward…  (Enter sends, Shift+Enter for a new line)"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            if (error) setError(null);
          }}
          onKeyDown={onKeyDown}
          disabled={disabled}
        />
        <button
          type="submit"
          className="button primary"
          data-testid="chat-send"
          disabled={busy || disabled || !text.trim()}
        >
          {busy ? "Sending…" : "Send"}
        </button>
      </div>
      <InlineError error={error} testId="chat-error" />
    </form>
  );
}
