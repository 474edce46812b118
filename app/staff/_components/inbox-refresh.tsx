"use client";
/** Re-renders the server part of a page (e.g. a conversation's header) when that conversation changes. */
import { useRouter } from "next/navigation";
import { useInboxLive } from "./inbox-live";

export function InboxRefresh({ conversationId }: { conversationId: string }) {
  const router = useRouter();
  useInboxLive((ids) => {
    if (ids.length === 0 || ids.includes(conversationId)) router.refresh();
  });
  return null;
}
