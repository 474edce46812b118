/**
 * /help/<slug>: one live help-centre article, the page a bot reply's source links to (no login).
 * The body is rendered as text, paragraph by paragraph: staff write it, but it is never HTML.
 */
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { findArticle } from "@/lib/db/knowledge";

export const dynamic = "force-dynamic";

/** The article, or null when there is none by that slug or it is retired. */
async function liveArticle(slug: string) {
  const article = await findArticle(slug);
  return article && article.retiredAt === null ? article : null;
}

export async function generateMetadata({ params }: { params: Promise<{ slug: string }> }): Promise<Metadata> {
  const article = await liveArticle((await params).slug);
  return { title: `${article?.title ?? "Not found"} · Northwind Goods help centre` };
}

export default async function HelpArticle({ params }: { params: Promise<{ slug: string }> }) {
  const article = await liveArticle((await params).slug);
  if (!article) notFound();
  const paragraphs = article.body.split(/\n\s*\n/).filter((p) => p.trim() !== "");
  return (
    <main className="page">
      <header className="page-header">
        <h1>{article.title}</h1>
      </header>
      <article className="help-article" data-testid="help-article">
        {paragraphs.map((p, i) => (
          <p key={i}>{p.trim()}</p>
        ))}
      </article>
      <nav className="help-nav">
        <Link href="/">← Back to the chat</Link>
        <Link href="/help">All help articles</Link>
      </nav>
    </main>
  );
}
