/**
 * Caps the socket.io connections one address (an IPv6 /64 counts as one) holds open at once, for every
 * namespace: checked at the engine's handshake (`allowRequest`), before any namespace or database work.
 * Without it one address could hold thousands of idle sockets (pings keep them alive), each a customer
 * minted for free. A refused handshake gets HTTP 400/403 with the message; the client sees `connect_error`.
 */
import type { IncomingMessage } from "node:http";
import type { Server, ServerOptions } from "socket.io";
import { addressKey } from "../client-address";

/** A slot taken at the handshake and not followed by a connection (a failed upgrade) is freed after this. */
const UNCLAIMED_SLOT_MS = 10_000;

export const TOO_MANY_SOCKETS = "Too many connections from your network";

export function socketsPerAddress(max: number): { allowRequest: NonNullable<ServerOptions["allowRequest"]>; track: (io: Server) => void } {
  const open = new Map<string, number>();
  const slots = new WeakMap<IncomingMessage, { release: () => void; claimed: boolean }>();
  return {
    allowRequest(req, callback) {
      const key = addressKey(req.socket.remoteAddress);
      const n = open.get(key) ?? 0;
      if (n >= max) return callback(TOO_MANY_SOCKETS, false);
      open.set(key, n + 1);
      let released = false;
      const slot = {
        claimed: false,
        release: () => {
          if (released) return;
          released = true;
          const left = (open.get(key) ?? 1) - 1;
          if (left <= 0) open.delete(key);
          else open.set(key, left);
        },
      };
      slots.set(req, slot);
      setTimeout(() => slot.claimed || slot.release(), UNCLAIMED_SLOT_MS).unref();
      callback(null, true);
    },
    track(io) {
      io.engine.on("connection", (raw: { request: IncomingMessage; once: (event: "close", f: () => void) => void }) => {
        const slot = slots.get(raw.request);
        if (!slot) return;
        slot.claimed = true;
        raw.once("close", slot.release);
      });
    },
  };
}
