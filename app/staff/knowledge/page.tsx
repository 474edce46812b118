/** /staff/knowledge: the help-centre articles replies are grounded in, retired ones marked, for editors and admins. */
import type { Metadata } from "next";
import Link from "next/link";
import { StaffNav } from "@/app/_console/staff-nav";
import { TableCard } from "@/app/_console/table-card";
import { Ago } from "@/app/_console/time";
import kit from "@/app/_console/console.module.css";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listArticles } from "@/lib/knowledge/editor";
import styles from "./knowledge.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Knowledge base · Loopdesk" };

export default async function KnowledgePage() {
  const staff = await requireStaffPage(AREA_ROLES.knowledge, "/staff/knowledge");
  const articles = await listArticles();
  return (
    <>
      <StaffNav staff={staff} />
      <main className={kit.page}>
        <div className={kit.header}>
          <h1>Knowledge base</h1>
          <span className={kit.headerNote}>The help-centre articles replies are grounded in.</span>
          <div className={kit.headerRight}>
            <Link href="/staff/knowledge/new" className={`${kit.btn} ${kit.btnPrimary}`}>
              New article
            </Link>
          </div>
        </div>
        <TableCard label="Articles" empty={articles.length === 0 ? "No articles yet." : null}>
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
                  <Link href={`/staff/knowledge/${a.slug}`} className={kit.rowLink}>
                    {a.title}
                  </Link>
                </td>
                <td>{a.intent ? <span className={kit.tag}>{a.intent}</span> : <span className={kit.muted}>none</span>}</td>
                <td className={kit.num}>{a.version}</td>
                <td>
                  {a.editedBy ?? "—"}
                  {a.editedAt && (
                    <span className={kit.muted}>
                      {" · "}
                      <Ago iso={a.editedAt} />
                    </span>
                  )}
                </td>
                <td>
                  <span className={kit.badge}>{a.retired ? "Retired" : "Live"}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </TableCard>
      </main>
    </>
  );
}
