"""Write the OpenAPI document to contracts/openapi.json (`dispute-router openapi`)."""

from __future__ import annotations

import json
from typing import Any


def openapi_document(app: Any) -> dict[str, Any]:
    return app.extensions["router.api"].spec.to_dict()


def render(app: Any) -> str:
    return json.dumps(openapi_document(app), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
