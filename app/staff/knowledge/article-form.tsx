"use client";
/**
 * The form that creates an article or saves a new version of one. A save names the version it started
 * from, so one editor cannot overwrite another's save unseen (the API answers 409 and we say so).
 * After a save the page re-renders with the new version, which the next save then names; the fields
 * keep what the editor typed, which is what was saved.
 */
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { callApi } from "@/app/_console/api";
import { ErrorAlert } from "@/app/_console/error-alert";
import kit from "@/app/_console/console.module.css";
import { MAX_BODY_CHARS, MAX_TITLE_CHARS } from "@/lib/knowledge/article-limits";
import { MAX_FACT_CHARS, MAX_SENTENCES_PER_ARTICLE } from "@/lib/sentences";
import styles from "./knowledge.module.css";

export interface EditedArticle {
  slug: string;
  title: string;
  body: string;
  intent: string | null;
  version: number;
  retired: boolean;
}

export function ArticleForm({ intents, article }: { intents: string[]; article?: EditedArticle }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const fields = { title: String(data.get("title")), body: String(data.get("body")), intent: String(data.get("intent")) || null };
    setBusy(true);
    setError(null);
    setSaved(null);
    const result = article
      ? await callApi<{ article: EditedArticle }>("PUT", `/api/staff/knowledge/${article.slug}`, {
          ...fields,
          retired: data.get("retired") === "on",
          expectedVersion: article.version,
        })
      : await callApi<{ article: EditedArticle }>("POST", "/api/staff/knowledge", fields);
    setBusy(false);
    if (!result.ok) return setError(result.message);
    if (article) {
      setSaved(`Saved as version ${result.body.article.version}.`);
      router.refresh();
    } else router.push(`/staff/knowledge/${result.body.article.slug}`);
  }

  return (
    <form className={styles.form} onSubmit={submit}>
      <label className={kit.field}>
        Title
        <input type="text" name="title" defaultValue={article?.title} maxLength={MAX_TITLE_CHARS} required />
        {article && <span className={styles.hint}>The article stays at /help/{article.slug} when its title changes.</span>}
      </label>
      <label className={kit.field}>
        Intent
        <select name="intent" defaultValue={article?.intent ?? ""}>
          <option value="">None</option>
          {intents.map((i) => (
            <option key={i} value={i}>
              {i}
            </option>
          ))}
        </select>
        <span className={styles.hint}>Replies to questions of this intent prefer this article.</span>
      </label>
      <label className={kit.field}>
        Text
        <textarea name="body" defaultValue={article?.body} maxLength={MAX_BODY_CHARS} required />
        <span className={styles.hint}>
          Up to {MAX_BODY_CHARS.toLocaleString("en")} characters. Replies are grounded in the first {MAX_SENTENCES_PER_ARTICLE} sentences only;
          a sentence over {MAX_FACT_CHARS} characters is not used.
        </span>
      </label>
      {article && (
        <label className={`${kit.field} ${kit.check}`}>
          <input type="checkbox" name="retired" defaultChecked={article.retired} /> Retired: not shown in the help centre, not used for replies
        </label>
      )}
      <div className={styles.actions}>
        <button type="submit" className={`${kit.btn} ${kit.btnPrimary}`} disabled={busy}>
          {article ? "Save new version" : "Create article"}
        </button>
        {saved && <span role="status">{saved}</span>}
      </div>
      <ErrorAlert error={error} />
    </form>
  );
}
