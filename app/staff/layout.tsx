import type { Metadata } from "next";
import type { ReactNode } from "react";

// Every staff page checks the session itself (requireStaffPage): a layout cannot know the page's roles.
export const metadata: Metadata = {
  title: "Loopdesk staff",
  robots: { index: false, follow: false },
};

export default function StaffLayout({ children }: { children: ReactNode }) {
  return children;
}
