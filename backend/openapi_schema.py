"""Edge's OpenAPI schema as the Console's typed client is generated from it
(`frontend/openapi.json`): keys sorted, two-space indents, one final newline, so the file only
changes when the API does. `python -m backend.openapi_schema PATH` writes it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from backend.settings import EdgeSettings


def schema_text() -> str:
    """The live schema of `create_app()`, rendered stably."""
    from backend.agent.api import create_app

    # The schema does not depend on settings; pinning them keeps the environment out of it.
    app = create_app(EdgeSettings(owner_token=None, mcp_servers=[]))
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema to the path given (default: frontend/openapi.json)."""
    target = (
        Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "frontend/openapi.json"
    )
    text = schema_text()
    changed = not target.exists() or target.read_text(encoding="utf-8") != text
    target.write_text(text, encoding="utf-8")
    print(f"{target}: {'updated' if changed else 'unchanged'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
