/** The frame of every ML page: the staff top bar, the ML sub-nav and a heading. */
import type { ReactNode } from "react";
import type { StaffIdentity } from "@/lib/auth/roles";
import { StaffNav } from "@/app/_console/staff-nav";
import ui from "@/app/_console/console.module.css";
import { MlNav } from "./ml-nav";

export function MlPage({ identity, title, aside, children }: { identity: StaffIdentity; title: string; aside?: ReactNode; children: ReactNode }) {
  return (
    <>
      <StaffNav staff={identity} />
      <main className={ui.page}>
        <MlNav />
        <header className={ui.header}>
          <h1>{title}</h1>
          {aside && <div className={ui.headerRight}>{aside}</div>}
        </header>
        {children}
      </main>
    </>
  );
}
