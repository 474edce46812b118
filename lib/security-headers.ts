/**
 * Security headers of every Next response (pages, API routes, assets), set by proxy.ts.
 *
 * Content-Security-Policy: pages rendered per request (the staff and ML consoles, which show
 * customer-written text to privileged users) get a strict policy with a fresh nonce that Next puts on
 * its scripts. The customer pages `/` and `/widget` are prerendered at build time, so their inline
 * bootstrap scripts cannot carry a per-request nonce: they allow `'unsafe-inline'` scripts from their
 * own origin only, with everything else locked down (no other origins, no plugins, no <base>, forms and
 * connections to this origin only). React renders all user text as text, so the inline allowance gives
 * up a second line of defence, not an open hole. A new prerendered page must be added to STATIC_PAGES
 * (its scripts would be blocked otherwise; `next build` marks such pages ○).
 */

/** Pages prerendered at build time (○ in `next build`'s route list). */
const STATIC_PAGES = /^\/(widget\/?)?$/;
const WIDGET_PATH = /^\/widget\/?$/;

export interface SecurityHeaders {
  /** Response headers. */
  response: Record<string, string>;
  /** The nonce for Next to put on its scripts (passed on as the request's CSP header), if any. */
  nonce?: string;
}

/**
 * @param widgetFrameAncestors who may frame `/widget` (CSP source list, e.g. "https://shop.example");
 *   unset: any site, as the embeddable widget promises.
 */
export function securityHeaders(pathname: string, widgetFrameAncestors: string | undefined, dev: boolean): SecurityHeaders {
  const isWidget = WIDGET_PATH.test(pathname);
  const frameAncestors = isWidget ? widgetFrameAncestors?.trim() || undefined : "'none'";
  const common: Record<string, string> = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
  };
  // Older browsers without frame-ancestors: refuse framing except for the widget.
  if (!isWidget) common["X-Frame-Options"] = "DENY";

  if (pathname.startsWith("/api/")) {
    return { response: { ...common, "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'" } };
  }
  const nonce = STATIC_PAGES.test(pathname) ? undefined : Buffer.from(crypto.randomUUID()).toString("base64");
  const scripts = nonce ? `'self' 'nonce-${nonce}' 'strict-dynamic'` : "'self' 'unsafe-inline'";
  const policy = [
    "default-src 'self'",
    // React's development build needs eval for its error overlays; production never does.
    `script-src ${scripts}${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    ...(frameAncestors ? [`frame-ancestors ${frameAncestors}`] : []),
  ].join("; ");
  return { response: { ...common, "Content-Security-Policy": policy }, nonce };
}
