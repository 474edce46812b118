/** /help: the public help centre, one link per live knowledge-base article (no login). */
import type { Metadata } from "next";
import Link from "next/link";
import { liveArticles } from "@/lib/db/knowledge";

// Read per request: staff edits show at once (and there is no database at build time).
export const dynamic = "force-dynamic";

export const metadata: Metadata = { title: "Help centre · Northwind Goods" };

export default async function HelpCentre() {
  const articles = await liveArticles();
  return (
    <main className="page">
      <header className="page-header">
        <h1>Help centre</h1>
        <p>Answers to the questions we are asked most. Can&apos;t find yours? Ask us in the chat.</p>
      </header>
      <ul className="help-list" data-testid="help-articles">
        {articles.map((a) => (
          <li key={a.slug}>
            <Link href={`/help/${encodeURIComponent(a.slug)}`}>{a.title}</Link>
          </li>
        ))}
      </ul>
      <nav className="help-nav">
        <Link href="/">← Chat with us</Link>
      </nav>
    </main>
  );
}
