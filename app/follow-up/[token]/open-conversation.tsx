"use client";
import { useEffect } from "react";
import { adoptConversation } from "../../_components/use-chat";

/** Keeps the customer token and conversation as the chat does, then opens the chat on them. */
export function OpenConversation({ customerToken, conversationId }: { customerToken: string; conversationId: string }) {
  useEffect(() => {
    adoptConversation(customerToken, conversationId);
    window.location.replace("/");
  }, [customerToken, conversationId]);
  return (
    <main className="page">
      <p data-testid="follow-up-opening">Opening your conversation…</p>
    </main>
  );
}
