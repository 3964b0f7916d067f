"""The optional model-based fallback of the patch compiler: when the rules cannot map a
preference and `STEWARD_CONFIG_MODEL_FALLBACK` is on, the model is asked for a patch.

Invariants:
- The model's answer is data, never trusted: only `replace` operations on existing
  `/section/field` paths are accepted, the result must validate against `StewardConfig`, and
  the risk is computed from the paths, not taken from the model. Anything else is refused
  (422) with what the model proposed.
- A fallback patch is marked (`intents: ["model_fallback"]`) so the owner sees where it came
  from before committing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from backend.config.jsonpatch import PatchError, apply_patch
from backend.config.schema import StewardConfig
from backend.core_client import CoreClient, CoreClientError
from backend.errors import Unprocessable

_JSON = re.compile(r"\{.*\}", re.S)


def _prompt(config: dict[str, Any]) -> str:
    return (
        "You turn a person's preference about an assistant into JSON Patch (RFC 6902) "
        "operations on its configuration. Use only `replace` operations on the existing "
        "paths shown below. Answer with one JSON object and nothing else: "
        '{"ops": [{"op": "replace", "path": "/section/field", "value": ...}], '
        '"rationale": "one sentence"}. If the preference does not fit, answer {"ops": []}.\n'
        f"Configuration: {json.dumps(config, ensure_ascii=False)}"
    )


def _invalid(why: str, proposal: Any) -> Unprocessable:
    return Unprocessable(
        f"The model's suggestion does not fit the configuration ({why}); nothing was proposed. "
        "Try one of the phrasings the rules understand.",
        code="model_patch_invalid",
        model_proposal=proposal,
    )


async def model_patch(
    core: CoreClient, model: str, text: str, config: dict[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    """Ask the model for ops; return (ops, rationale) once they pass every check."""
    messages = [{"role": "system", "content": _prompt(config)}, {"role": "user", "content": text}]
    try:
        answer = await core.chat(messages, model=model, max_tokens=300, temperature=0)
    except CoreClientError as exc:
        raise Unprocessable(
            f"The rules could not map this preference and the model could not be asked "
            f"({exc.reason}).",
            code="preference_not_understood",
        ) from None
    found = _JSON.search(answer.content or "")
    if found is None:
        raise _invalid("it did not answer with JSON", answer.content)
    try:
        proposal = json.loads(found.group(0))
    except json.JSONDecodeError:
        raise _invalid("its JSON does not parse", found.group(0)) from None
    ops = proposal.get("ops") if isinstance(proposal, dict) else None
    if not isinstance(ops, list) or not ops:
        raise _invalid("it proposed no change", proposal)
    for op in ops:
        path = op.get("path", "") if isinstance(op, dict) else ""
        parts = path.strip("/").split("/")
        if (
            not isinstance(op, dict)
            or op.get("op") != "replace"
            or len(parts) != 2
            or parts[1] not in config.get(parts[0], {})
        ):
            raise _invalid(f"{op!r} is not a replace of an existing setting", proposal)
    try:
        StewardConfig.model_validate(apply_patch(config, ops))
    except (PatchError, ValidationError) as exc:
        raise _invalid(str(exc).splitlines()[0], proposal) from None
    rationale = str(proposal.get("rationale") or "Suggested by the model.")
    return ops, f"(model suggestion) {rationale}"
