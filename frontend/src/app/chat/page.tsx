"use client";
/** Chat: the conversation list beside the selected conversation (`/chat/?c=<id>`). */
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useCallback } from "react";

import { listConversations } from "@/api/client";
import { Thread } from "@/components/chat/Thread";
import { Empty, ErrorState, Loading } from "@/components/States";
import { useMe } from "@/lib/auth";
import { formatTime } from "@/lib/format";
import { useResource } from "@/lib/useResource";

function Chat() {
  const router = useRouter();
  const conversationId = useSearchParams().get("c");
  const me = useMe();
  const conversations = useResource(() => listConversations(), []);
  const { reload } = conversations;

  const onCreated = useCallback(
    (id: string) => router.replace(`/chat/?c=${encodeURIComponent(id)}`),
    [router],
  );

  return (
    <div className="chat">
      <section className="conversations" aria-labelledby="conversations-heading">
        <div className="row spread">
          <h1 id="conversations-heading">Chat</h1>
          <button
            type="button"
            className="button small"
            data-testid="new-conversation"
            onClick={() => {
              router.push("/chat/");
              requestAnimationFrame(() => document.querySelector<HTMLTextAreaElement>("[data-testid=chat-input]")?.focus());
            }}
          >
            New conversation
          </button>
        </div>
        {conversations.loading && !conversations.data ? <Loading label="Loading conversations…" /> : null}
        {conversations.error ? <ErrorState error={conversations.error} onRetry={reload} /> : null}
        {conversations.data ? (
          <nav aria-label="Conversations">
            {conversations.data.data.length === 0 ? (
              <Empty>No conversations yet. Send a message to start one.</Empty>
            ) : null}
            <ul className="conversation-list" data-testid="conversation-list">
              {conversations.data.data.map((c) => (
                <li key={c.id}>
                  <Link
                    href={`/chat/?c=${encodeURIComponent(c.id)}`}
                    className="conversation-link"
                    data-testid="conversation-item"
                    data-conversation-id={c.id}
                    aria-current={c.id === conversationId ? "page" : undefined}
                  >
                    <span className="conversation-title">{c.title || "Untitled"}</span>
                    <span className="conversation-when">{formatTime(c.updated_at)}</span>
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
      </section>
      <Thread conversationId={conversationId} isOwner={me.isOwner} onCreated={onCreated} onActivity={reload} />
    </div>
  );
}

export default function ChatPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Chat />
    </Suspense>
  );
}
