"""How large an answer may grow. Lambda refuses a synchronous answer over 6,291,556 bytes, and
API Gateway then answers 502; the answer is the proxy result, in which the JSON body is itself
a JSON string, so each quote and backslash of the body counts twice. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

LAMBDA_RESPONSE_LIMIT = 6_291_556
# Room for the status, the headers and the envelope's own keys.
BODY_BUDGET = LAMBDA_RESPONSE_LIMIT - 64 * 1024


def proxied_size(text: str) -> int:
    """Bytes ``text`` (json.dumps output: ASCII) takes inside the proxy result."""
    return len(text) + text.count('"') + text.count("\\")


def fitting(records: Sequence[Any], budget: int = BODY_BUDGET) -> int:
    """How many leading records fit in ``budget`` once serialised; at least one, so that a
    listing always moves forward."""
    if proxied_size(json.dumps(records)) <= budget:   # the common case: one pass
        return len(records)
    total = 256   # the answer's other keys
    for i, record in enumerate(records):
        total += proxied_size(json.dumps(record)) + 1
        if total > budget:
            return max(i, 1)
    return len(records)
