/**
 * /staff/knowledge/<slug>: edit an article (each save is a new version), its version history with who
 * saved each and when, and (?diff=N) what version N changed from the one before.
 */
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ApiError } from "@/lib/http";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { intentLabels } from "@/lib/db/inbox";
import { articleForEditor, parseSlug, versionDiff, type DiffPart, type VersionDiff } from "@/lib/knowledge/editor";
import { MAX_FACT_CHARS } from "@/lib/sentences";
import { TableCard } from "@/app/_console/table-card";
import { Ago } from "@/app/_console/time";
import kit from "@/app/_console/console.module.css";
import { ArticleForm } from "../article-form";
import { ArticlePageFrame } from "../article-page";
import styles from "../knowledge.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Article · Loopdesk" };

type Props = { params: Promise<{ slug: string }>; searchParams: Promise<{ diff?: string }> };

async function loadArticle(slug: string) {
  try {
    return await articleForEditor(parseSlug(slug));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) notFound();
    throw err;
  }
}

export default async function ArticlePage({ params, searchParams }: Props) {
  const { slug } = await params;
  const staff = await requireStaffPage(AREA_ROLES.knowledge, `/staff/knowledge/${encodeURIComponent(slug)}`);
  const [{ article, indexing, versions }, intents] = await Promise.all([loadArticle(slug), intentLabels()]);
  const diffTo = Number((await searchParams).diff);
  const diff = Number.isInteger(diffTo) && diffTo > 1 && diffTo <= article.version ? await versionDiff(article.slug, diffTo - 1, diffTo) : null;

  return (
    <ArticlePageFrame
      staff={staff}
      title={article.title}
      note={
        <span className={kit.headerNote} data-testid="article-version">
          version {article.version}
          {article.retired ? ", retired" : ""} · /help/{article.slug}
        </span>
      }
    >
      <section className={`${kit.card} ${styles.panel}`} aria-labelledby="edit-heading">
        <h2 id="edit-heading">Edit</h2>
        {indexing.indexed < indexing.sentences && (
          <p className={kit.errorText} role="note">
            This article has {indexing.sentences} sentences; replies use {indexing.indexed} of them (the first {indexing.limit}, none over{" "}
            {MAX_FACT_CHARS} characters).
          </p>
        )}
        <ArticleForm intents={intents} article={article} />
      </section>
      {diff && <DiffView diff={diff} />}
      <section aria-labelledby="history-heading">
        <h2 id="history-heading" className={styles.sectionTitle}>
          History
        </h2>
        <div data-testid="history">
          <TableCard label="Versions" empty={null}>
            <thead>
              <tr>
                <th>Version</th>
                <th>Title</th>
                <th>Saved by</th>
                <th>When</th>
                <th>Changes</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.version} className={v.retired ? styles.retired : undefined}>
                  <td className={kit.num}>
                    {v.version}
                    {v.retired && " (retired)"}
                  </td>
                  <td>{v.title}</td>
                  <td>{v.editedBy}</td>
                  <td>
                    <Ago iso={v.createdAt} />
                  </td>
                  <td>{v.version > 1 && <Link href={`/staff/knowledge/${article.slug}?diff=${v.version}`}>View changes</Link>}</td>
                </tr>
              ))}
            </tbody>
          </TableCard>
        </div>
      </section>
    </ArticlePageFrame>
  );
}

function DiffText({ parts }: { parts: DiffPart[] }) {
  return (
    <p className={styles.diff}>
      {parts.map((p, i) => (p.change === "added" ? <ins key={i}>{p.text}</ins> : p.change === "removed" ? <del key={i}>{p.text}</del> : <span key={i}>{p.text}</span>))}
    </p>
  );
}

function DiffView({ diff }: { diff: VersionDiff }) {
  const { from, to } = diff;
  return (
    <section className={`${kit.card} ${styles.panel}`} aria-labelledby="diff-heading" data-testid="diff">
      <h2 id="diff-heading">
        Changes in version {to.version} (from version {from.version})
      </h2>
      <p className={kit.muted}>
        Saved by {to.editedBy}, <Ago iso={to.createdAt} />.
        {from.intent !== to.intent && ` Intent: ${from.intent ?? "none"} → ${to.intent ?? "none"}.`}
        {from.retired !== to.retired && (to.retired ? " Retired." : " Back in use.")}
      </p>
      <h3>Title</h3>
      <DiffText parts={diff.title} />
      <h3>Text</h3>
      <DiffText parts={diff.body} />
    </section>
  );
}
