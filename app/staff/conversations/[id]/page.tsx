/**
 * /staff/conversations/[id]: a conversation's facts (status, customer, rating…) and its transcript,
 * live, with the intent and reply-feedback controls on every message (LiveConversation).
 */
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { conversationDetail, intentLabels } from "@/lib/db/inbox";
import { absolute, confidenceLevel, percent, shortId } from "@/app/_console/format";
import { InboxRefresh } from "../../_components/inbox-refresh";
import { Ago, Elapsed } from "@/app/_console/time";
import { Stars } from "../../_components/stars";
import { StatusBadge } from "../../_components/status-badge";
import { LiveConversation } from "../../_components/live-conversation";
import { StaffNav } from "@/app/_console/staff-nav";
import styles from "@/app/_console/console.module.css";

export const dynamic = "force-dynamic";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  return { title: `Conversation #${shortId(id)} · Loopdesk` };
}

export default async function ConversationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const staff = await requireStaffPage(AREA_ROLES.support, `/staff/conversations/${encodeURIComponent(id)}`);
  const [conversation, labels] = await Promise.all([conversationDetail(id), intentLabels()]);
  if (!conversation) notFound();
  const c = conversation;

  return (
    <>
      <StaffNav staff={staff} />
      <main className={styles.page}>
        <InboxRefresh conversationId={c.id} />
        <Link href="/staff" className={styles.back}>
          ← Inbox
        </Link>
        <header className={`${styles.card} ${styles.convHeader}`} style={{ marginTop: 8 }} data-testid="conversation-header">
          <div className={styles.convTitle}>
            <h1>Conversation #{shortId(c.id)}</h1>
            <StatusBadge status={c.status} />
            {c.hasCorrection && <span className={styles.flag}>has a correction</span>}
          </div>
          <dl className={styles.facts}>
            <div>
              <dt>Customer</dt>
              <dd title={c.customerId}>#{shortId(c.customerId)}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd title={absolute(c.createdAt)}>
                <Ago iso={c.createdAt} />
              </dd>
            </div>
            <div>
              <dt>Last activity</dt>
              <dd>
                <Ago iso={c.lastMessageAt} />
              </dd>
            </div>
            {c.status === "waiting_for_agent" && c.waitingSince && (
              <div>
                <dt>Waiting for</dt>
                <dd>
                  <Elapsed iso={c.waitingSince} className={styles.wait} />
                </dd>
              </div>
            )}
            <div>
              <dt>Agent</dt>
              <dd>{c.assignedStaffName ?? <span className={styles.muted}>–</span>}</dd>
            </div>
            <div>
              <dt>Messages</dt>
              <dd>
                {c.messageCount} <span className={styles.muted}>({c.customerMessageCount} from the customer)</span>
              </dd>
            </div>
            <div>
              <dt>Lowest confidence</dt>
              <dd className={styles[`text_${confidenceLevel(c.minIntentProbability)}`]}>{percent(c.minIntentProbability)}</dd>
            </div>
            <div>
              <dt>Rating</dt>
              <dd>
                <Stars rating={c.rating} />
                {c.ratingComment && <span className={styles.muted}> “{c.ratingComment}”</span>}
              </dd>
            </div>
          </dl>
        </header>
        <LiveConversation
          conversationId={c.id}
          initialMessages={c.messages}
          initialNotes={c.notes}
          initialOlderCursor={c.olderCursor}
          initialStatus={c.status}
          staff={{ id: staff.id, name: staff.name, role: staff.role }}
          labels={labels}
          assignedStaffId={c.assignedStaffId}
        />
      </main>
    </>
  );
}
