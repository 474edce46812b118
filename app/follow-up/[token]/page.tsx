/**
 * /follow-up/<link>: the link in a follow-up email. A valid, unexpired link makes this browser the
 * customer it was sent to and opens the conversation; a forged, expired or stale one says so.
 */
import type { Metadata } from "next";
import Link from "next/link";
import { config } from "@/lib/config";
import { signCustomerToken } from "@/lib/customer-token";
import { findCustomerConversation } from "@/lib/db/conversations";
import { verifyFollowUpLink } from "@/lib/follow-up-link";
import { OpenConversation } from "./open-conversation";

export const dynamic = "force-dynamic";

export const metadata: Metadata = { title: "Your conversation · Northwind Goods", referrer: "no-referrer" };

const PROBLEMS = {
  invalid: { title: "This link is not valid", text: "The link is incomplete or has been changed. Please use the link from your email as it is." },
  expired: { title: "This link has expired", text: "Links in our emails work for a limited time. You can start a new chat and we'll be happy to help." },
  gone: { title: "This conversation is no longer available", text: "It may have been deleted. You can start a new chat and we'll be happy to help." },
} as const;

export default async function FollowUp({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const cfg = config();
  const link = verifyFollowUpLink(decodeURIComponent(token), cfg.customerTokenSecrets);
  const conversation = link.ok ? await findCustomerConversation(link.conversationId, link.customerId) : null;
  if (link.ok && conversation) {
    return <OpenConversation customerToken={signCustomerToken(link.customerId, cfg.customerTokenSecret)} conversationId={conversation.id} />;
  }
  const problem = PROBLEMS[link.ok ? "gone" : link.reason];
  return (
    <main className="page">
      <header className="page-header">
        <h1 data-testid="follow-up-error">{problem.title}</h1>
        <p>{problem.text}</p>
      </header>
      <nav className="help-nav">
        <Link href="/">Start a new chat</Link>
      </nav>
    </main>
  );
}
