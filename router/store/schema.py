"""Every table of the service, for the migrations and their test: the models and the read models."""

from __future__ import annotations

from router.store import report_models
from router.store.models import Base

metadata = Base.metadata
__all__ = ["metadata", "report_models"]
