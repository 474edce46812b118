"use client";
/** The ML console's sub-navigation, under the staff top bar. */
import Link from "next/link";
import { usePathname } from "next/navigation";
import styles from "./ml.module.css";

const LINKS = [
  { href: "/ml", label: "Overview" },
  { href: "/ml/data", label: "Data" },
  { href: "/ml/runs", label: "Runs" },
  { href: "/ml/models", label: "Models" },
  { href: "/ml/lm", label: "Language model" },
];

export function MlNav() {
  const pathname = usePathname();
  const current = (href: string) => (href === "/ml" ? pathname === href : pathname.startsWith(href));
  return (
    <nav aria-label="ML console" className={styles.subnav}>
      {LINKS.map((l) => (
        <Link key={l.href} href={l.href} aria-current={current(l.href) ? "page" : undefined}>
          {l.label}
        </Link>
      ))}
    </nav>
  );
}
