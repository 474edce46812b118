/** /staff/knowledge/new: a new help-centre article (its address comes from its title). */
import type { Metadata } from "next";
import kit from "@/app/_console/console.module.css";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { intentLabels } from "@/lib/db/inbox";
import { ArticleForm } from "../article-form";
import { ArticlePageFrame } from "../article-page";
import styles from "../knowledge.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "New article · Loopdesk" };

export default async function NewArticlePage() {
  const staff = await requireStaffPage(AREA_ROLES.knowledge, "/staff/knowledge/new");
  return (
    <ArticlePageFrame staff={staff} title="New article">
      <section className={`${kit.card} ${styles.panel}`}>
        <ArticleForm intents={await intentLabels()} />
      </section>
    </ArticlePageFrame>
  );
}
