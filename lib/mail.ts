/**
 * Outgoing email: over SMTP (nodemailer) when SMTP_URL is set, else into the outbox table, which the
 * admin page shows, so the embedded default works without a mail server.
 */
import nodemailer, { type Transporter } from "nodemailer";
import { config } from "./config";
import { addOutboxEmail } from "./db/follow-up";

export interface Email {
  to: string;
  subject: string;
  text: string;
  conversationId: string | null;
}

// Agents' replies are emailed from the socket handlers of server.ts only, so one module copy holds it.
let transporter: Transporter | undefined;
const smtp = (url: string) => (transporter ??= nodemailer.createTransport(url));

/** Sends (or, without SMTP_URL, stores) one email; where it went. Throws when the SMTP server refuses it. */
export async function sendEmail(email: Email): Promise<"smtp" | "outbox"> {
  const { SMTP_URL, MAIL_FROM } = config();
  if (!SMTP_URL) {
    await addOutboxEmail(email);
    return "outbox";
  }
  await smtp(SMTP_URL).sendMail({ from: MAIL_FROM, to: email.to, subject: email.subject, text: email.text });
  return "smtp";
}
