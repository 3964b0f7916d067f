// Lint: every call to Edge goes through src/api/client.ts. Fails if any other module calls
// fetch, XMLHttpRequest or EventSource, or imports openapi-fetch.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("../src", import.meta.url).pathname;
const allowed = new Set(["api/client.ts"]);
const forbidden = [/\bfetch\s*\(/, /\bXMLHttpRequest\b/, /\bnew\s+EventSource\b/, /from\s+["']openapi-fetch["']/];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(ts|tsx)$/.test(name) && !name.endsWith(".d.ts")) yield path;
  }
}

let failures = 0;
for (const path of files(root)) {
  const rel = relative(root, path);
  if (allowed.has(rel)) continue;
  const text = readFileSync(path, "utf8");
  for (const pattern of forbidden) {
    if (pattern.test(text)) {
      console.error(`${rel}: calls Edge directly (${pattern}); go through src/api/client.ts`);
      failures += 1;
    }
  }
}
if (failures) process.exit(1);
console.log("api usage ok: every call goes through src/api/client.ts");
