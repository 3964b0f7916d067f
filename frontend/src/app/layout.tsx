import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";

import { Frame } from "@/components/Shell";

import "./globals.css";
import "./components.css";
import "./pages.css";

export const metadata: Metadata = {
  title: "Steward Console",
  description: "Your local-first personal agent: chat, tasks, approvals, memory, config, tools, audit.",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: "#f6f6f3",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Frame>{children}</Frame>
      </body>
    </html>
  );
}
