/** /staff/knowledge: the help-centre articles replies are grounded in, retired ones marked, for editors and admins. */
import type { Metadata } from "next";
import Link from "next/link";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listArticles } from "@/lib/knowledge/editor";
import { StaffNav } from "@/app/_console/staff-nav";
import { Ago } from "@/app/_console/time";
import styles from "./knowledge.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Knowledge base · Loopdesk" };

export default async function KnowledgePage() {
  const staff = await requireStaffPage(AREA_ROLES.knowledge, "/staff/knowledge");
  const articles = await listArticles();
  return (
    <>
      <StaffNav staff={staff} />
      <main className={styles.page}>
        <h1>Knowledge base</h1>
        <section>
          <p className={styles.actions}>
            <Link href="/staff/knowledge/new">New article</Link>
          </p>
          <table className={styles.table}>
            <thead>
              <tr>
                <th>Title</th>
                <th>Intent</th>
                <th>Version</th>
                <th>Last edited</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {articles.map((a) => (
                <tr key={a.slug} className={a.retired ? styles.retired : undefined} data-testid="article-row">
                  <td>
                    <Link href={`/staff/knowledge/${a.slug}`}>{a.title}</Link>
                  </td>
                  <td>{a.intent ?? "—"}</td>
                  <td>{a.version}</td>
                  <td>
                    {a.editedBy ?? "—"}
                    {a.editedAt && (
                      <>
                        {", "}
                        <Ago iso={a.editedAt} />
                      </>
                    )}
                  </td>
                  <td>{a.retired ? "Retired" : "Live"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </main>
    </>
  );
}
