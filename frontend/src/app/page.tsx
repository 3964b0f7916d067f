"use client";
/** `/`: to Chat when a token is stored, else to sign-in. */
import { useRouter } from "next/navigation";
import { useEffect } from "react";

import { getToken } from "@/api/client";
import { Loading } from "@/components/States";

export default function Home() {
  const router = useRouter();
  useEffect(() => {
    router.replace(getToken() ? "/chat/" : "/signin/");
  }, [router]);
  return (
    <main className="centered">
      <Loading label="Opening Steward…" />
    </main>
  );
}
