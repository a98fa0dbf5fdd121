"""Fixtures of the integration tests beyond the suite's own (tests/conftest.py)."""

from tests.nul_probes import nul_to_database, web  # noqa: F401 - fixtures, found by name
from tests.probes import sent, sm3_agencies  # noqa: F401 - fixtures, found by name
