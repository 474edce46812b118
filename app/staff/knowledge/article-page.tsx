/** The frame of an article's page in the staff console: navigation, the way back to the list, the title. */
import type { ReactNode } from "react";
import Link from "next/link";
import type { StaffIdentity } from "@/lib/auth/roles";
import { StaffNav } from "@/app/_console/staff-nav";
import kit from "@/app/_console/console.module.css";

export function ArticlePageFrame({ staff, title, note, children }: { staff: StaffIdentity; title: string; note?: ReactNode; children: ReactNode }) {
  return (
    <>
      <StaffNav staff={staff} />
      <main className={kit.page}>
        <Link href="/staff/knowledge" className={kit.back}>
          ← Knowledge base
        </Link>
        <div className={kit.header}>
          <h1>{title}</h1>
          {note}
        </div>
        {children}
      </main>
    </>
  );
}
