"""The WSGI entry for a multi-process server: `gunicorn router.wsgi:app` (docs/architecture.md §8).

Each web process builds its services from the environment, as every other process does, and
serves only HTTP: the relay, sweeper, scheduler and delivery workers run once, elsewhere (in the
`dispute-router serve --processes N` parent, or as their own commands), never once per web process.
"""

from __future__ import annotations

from router.logs import configure
from router.server import application
from router.services import build_services
from router.settings import load_settings

configure()
app = application(build_services(load_settings()))
