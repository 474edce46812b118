/**
 * `loopdesk data export --customer ID --out FILE`: a customer's data (lib/db/customer-data.ts) written
 * as JSON for an access request. Refused before anything is read or written when the id is not a
 * customer id or the folder does not exist; an unknown customer writes nothing.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { exportCustomerData } from "../db/customer-data";
import { writeAtomically } from "./export";

export async function writeCustomerData(opts: { customerId: string; outPath: string; actor: string }): Promise<{ path: string; conversations: number; messages: number }> {
  if (!z.string().uuid().safeParse(opts.customerId).success) throw new Error(`"${opts.customerId}" is not a customer id (a UUID, as the staff console shows it)`);
  const file = path.resolve(opts.outPath);
  const folder = path.dirname(file);
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`cannot write ${opts.outPath}: the folder ${folder} does not exist`);
  const data = await exportCustomerData(opts.customerId, opts.actor);
  if (!data) throw new Error(`no customer ${opts.customerId}: nothing was written`);
  await writeAtomically(file, `${JSON.stringify(data, null, 2)}\n`);
  return { path: file, conversations: data.conversations.length, messages: data.conversations.reduce((n, c) => n + c.messages.length, 0) };
}
