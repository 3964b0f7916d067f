/** JSON shown as readable, scrollable text. */
import type { JsonValue } from "@/api/resources";
import { pretty } from "@/lib/format";

export function JsonBlock({ value, label, testId }: { value: JsonValue | undefined; label?: string; testId?: string }) {
  return (
    <pre className="json" aria-label={label} tabIndex={0} data-testid={testId}>
      {pretty(value)}
    </pre>
  );
}
