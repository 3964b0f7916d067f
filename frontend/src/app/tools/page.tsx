"use client";
/** Tools: each tool with its risk grade, description, source and JSON Schema. */
import { listTools } from "@/api/client";
import { RiskBadge } from "@/components/Badges";
import { JsonBlock } from "@/components/JsonBlock";
import { PageHeader } from "@/components/PageHeader";
import { Empty, ErrorState, Loading } from "@/components/States";
import { useResource } from "@/lib/useResource";

export default function ToolsPage() {
  const tools = useResource(() => listTools(), []);
  const data = tools.data?.data ?? [];
  return (
    <>
      <PageHeader title="Tools" />
      <p className="muted">
        Read-only tools run at once. Local writes run at once for the owner and need approval for members. External
        writes always wait for the owner&apos;s approval, whatever the model says.
      </p>
      {tools.loading && !tools.data ? <Loading label="Loading tools…" /> : null}
      {tools.error ? <ErrorState error={tools.error} onRetry={tools.reload} /> : null}
      {tools.data && data.length === 0 ? <Empty>No tools are registered. Check Edge&apos;s log for tool sources that failed to load.</Empty> : null}
      {data.length > 0 ? (
        <ul className="list">
          {data.map((tool) => (
            <li key={tool.name} className="card stack-tight" data-testid="tool-row" data-tool={tool.name}>
              <div className="row wrap spread">
                <h2 className="tool-name" style={{ margin: 0, fontSize: "1rem" }}>
                  {tool.name}
                </h2>
                <RiskBadge risk={tool.risk} testId="tool-risk" />
              </div>
              <p style={{ margin: 0 }}>{tool.description}</p>
              <p className="muted small-text" style={{ margin: 0 }}>
                Source: <span className="mono">{tool.source}</span>
              </p>
              <details data-testid="tool-schema">
                <summary>Arguments schema</summary>
                <JsonBlock value={tool.schema} label={`JSON Schema of ${tool.name}`} />
              </details>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
