/**
 * A customer's data on request (an access request; `data purge --customer` is the erasure side): every
 * conversation with its messages, rating and comment, the customer's 👍/👎 and clarification picks,
 * read in one consistent view and audited as `data.export`.
 */
import type { CustomerDataExport } from "../protocol/staff";
import { db } from "./client";

/** The customer's data, or null when there is no such customer; the export is audited in the same transaction. */
export async function exportCustomerData(customerId: string, actor: string): Promise<CustomerDataExport | null> {
  return db().$transaction(
    async (tx) => {
      const customer = await tx.customer.findUnique({
        where: { id: customerId },
        include: {
          conversations: {
            orderBy: [{ createdAt: "asc" }, { id: "asc" }],
            include: {
              messages: {
                orderBy: [{ createdAt: "asc" }, { id: "asc" }],
                include: { intentLabels: { where: { source: "customer_clarification" }, orderBy: { createdAt: "desc" }, take: 1, select: { intent: true } } },
              },
            },
          },
        },
      });
      if (!customer) return null;
      const data: CustomerDataExport = {
        format: "loopdesk-customer-data/1",
        exportedAt: new Date().toISOString(),
        customer: { id: customer.id, createdAt: customer.createdAt.toISOString(), email: customer.email },
        conversations: customer.conversations.map((c) => ({
          id: c.id,
          status: c.status,
          createdAt: c.createdAt.toISOString(),
          lastMessageAt: c.lastMessageAt.toISOString(),
          closedAt: c.closedAt?.toISOString() ?? null,
          rating: c.rating,
          ratingComment: c.ratingComment,
          messages: c.messages.map((m) => ({
            id: m.id,
            role: m.role,
            text: m.text,
            createdAt: m.createdAt.toISOString(),
            helpful: m.customerHelpful,
            clarifiedIntent: m.intentLabels[0]?.intent ?? null,
          })),
        })),
      };
      const messages = data.conversations.reduce((n, c) => n + c.messages.length, 0);
      await tx.auditLog.create({ data: { actor, action: "data.export", subject: `customer:${customerId}`, details: { conversations: data.conversations.length, messages } } });
      return data;
    },
    { isolationLevel: "RepeatableRead" },
  );
}
