"""Structured log lines (one JSON object each) carrying dispute reference, handoff id and the like."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                               "message": record.getMessage()}
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure() -> None:
    """JSON lines by default; ROUTER_LOG_FORMAT=text for humans at a terminal."""
    handler = logging.StreamHandler()
    if os.environ.get("ROUTER_LOG_FORMAT", "json") == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=os.environ.get("ROUTER_LOG_LEVEL", "INFO"), handlers=[handler], force=True)
    for noisy in ("alembic", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
