/** Runs before every Next request: sets the security headers (lib/security-headers.ts). */
import { NextResponse, type NextRequest } from "next/server";
import { securityHeaders } from "./lib/security-headers";

export function proxy(request: NextRequest) {
  const { response, nonce } = securityHeaders(
    request.nextUrl.pathname,
    process.env.WIDGET_FRAME_ANCESTORS,
    process.env.NODE_ENV === "development",
  );
  // Next reads the nonce from the request's CSP header and puts it on the scripts it renders.
  let res = NextResponse.next();
  if (nonce) {
    const headers = new Headers(request.headers);
    headers.set("Content-Security-Policy", response["Content-Security-Policy"]!);
    res = NextResponse.next({ request: { headers } });
  }
  for (const [name, value] of Object.entries(response)) res.headers.set(name, value);
  return res;
}
