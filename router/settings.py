"""One Settings object from ROUTER_* environment variables plus the YAML files in the config dir.

Every config file is validated at start; a bad one fails with the file, the key and the problem,
so an operator never finds out from a half-routed dispute.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from router.domain.bodies import Bodies
from router.domain.calendar import WorkCalendar, load_overrides
from router.domain.divisions import DivisionTree
from router.domain.errors import ConfigError, reject_unknown_keys
from router.domain.kpis import Thresholds
from router.domain.model import DELIVERY_MODES, BodyType, Tier
from router.domain.registry import AgencyInfo, Registry
from router.domain.ruleset import RuleSet

log = logging.getLogger(__name__)

DEFAULT_CONFIG_DIR = Path("config")
DEFAULT_VAR_DIR = Path("var")
DEFAULT_BROKER_URL = "memory://"


AGENCY_KEYS = ("code", "name", "body_type", "tier", "jurisdiction", "endpoint", "delivery", "active", "retry_schedule",
               "priority", "supervised_by", "signing")
SIGNING = ("hmac-sha256", "hmac-sm3")  # an agency's signing algorithm (adapters/signing.py)


@dataclass(frozen=True)
class AgencyConfig:
    info: AgencyInfo
    endpoint: str | None
    retry_schedule: tuple[float, ...] | None = None
    delivery: str = "push"
    supervised_by: str | None = None  # the 司法所 / 司法局 told of its 督办
    signing: str = "hmac-sha256"  # or hmac-sm3 (国密)


@dataclass(frozen=True)
class DomainConfig:
    """Everything loaded from config/*.yaml, validated."""

    ruleset: RuleSet
    bodies: Bodies
    divisions: DivisionTree
    agencies: tuple[AgencyConfig, ...]
    calendar: WorkCalendar
    thresholds: Thresholds = field(default_factory=Thresholds)

    @cached_property
    def registry(self) -> Registry:
        return Registry(a.info for a in self.agencies)

    @cached_property
    def retry_schedules(self) -> dict[str, tuple[float, ...]]:
        """Per-agency overrides of the delivery retry schedule (agencies.yaml `retry_schedule`)."""
        return {a.info.code: a.retry_schedule for a in self.agencies if a.retry_schedule}


def _read_yaml(path: Path) -> tuple[Any, bytes]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path.name, "(file)", f"not found at {path}") from None
    try:
        return yaml.safe_load(raw), raw
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(parse)"
        raise ConfigError(path.name, where, f"invalid YAML: {getattr(e, 'problem', e)}") from None


def load_agencies(data: Any, divisions: DivisionTree, file: str = "agencies.yaml") -> tuple[AgencyConfig, ...]:
    if not isinstance(data, Mapping) or not isinstance(data.get("agencies"), list):
        raise ConfigError(file, "agencies", "must be a list")
    reject_unknown_keys(file, "", data, ("agencies",))
    out: list[AgencyConfig] = []
    seen: set[str] = set()
    for i, a in enumerate(data["agencies"]):
        key = f"agencies[{i}]"
        if not isinstance(a, Mapping):
            raise ConfigError(file, key, "must be a mapping")
        for k in ("code", "name", "body_type", "tier", "jurisdiction"):
            if not a.get(k):
                raise ConfigError(file, f"{key}.{k}", "is required")
        code = str(a["code"])
        key = f"agencies.{code}"
        if code in seen:
            raise ConfigError(file, key, "duplicate agency code")
        seen.add(code)
        reject_unknown_keys(file, key, a, AGENCY_KEYS)
        try:
            body = BodyType(a["body_type"])
        except ValueError:
            raise ConfigError(file, f"{key}.body_type", f"unknown body type {a['body_type']!r}") from None
        try:
            tier = Tier(a["tier"])
        except ValueError:
            raise ConfigError(file, f"{key}.tier", f"unknown tier {a['tier']!r}") from None
        juris = tuple(str(j) for j in a["jurisdiction"])
        for j in juris:
            if divisions.get(j) is None:
                raise ConfigError(file, f"{key}.jurisdiction", f"unknown division {j!r}")
        schedule = a.get("retry_schedule")
        if schedule is not None and (not isinstance(schedule, list) or not all(
                isinstance(x, int | float) and x >= 0 for x in schedule)):
            raise ConfigError(file, f"{key}.retry_schedule", "must be a list of seconds, e.g. [0, 5, 300]")
        priority = a.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise ConfigError(file, f"{key}.priority", "must be a whole number (higher wins a tie)")
        endpoint = str(a["endpoint"]) if a.get("endpoint") else None
        delivery = str(a.get("delivery") or ("push" if endpoint else "pull"))
        if delivery not in DELIVERY_MODES:
            raise ConfigError(file, f"{key}.delivery", f"must be one of {', '.join(DELIVERY_MODES)}")
        if delivery == "push" and endpoint is None:
            raise ConfigError(file, f"{key}.endpoint", "a push agency needs an endpoint (or delivery: pull | paper)")
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise ConfigError(file, f"{key}.endpoint", "must be an http:// or https:// URL")
        signing = str(a.get("signing") or SIGNING[0])
        if signing not in SIGNING:
            raise ConfigError(file, f"{key}.signing", f"must be one of {', '.join(SIGNING)} (国密: hmac-sm3)")
        out.append(AgencyConfig(AgencyInfo(code, str(a["name"]), body, tier, juris, bool(a.get("active", True)),
                                           priority),
                                endpoint, tuple(float(x) for x in schedule) if schedule else None, delivery,
                                str(a["supervised_by"]) if a.get("supervised_by") else None, signing))
    for ac in out:
        if ac.supervised_by is not None and (ac.supervised_by not in seen or ac.supervised_by == ac.info.code):
            raise ConfigError(file, f"agencies.{ac.info.code}.supervised_by",
                              f"must be another agency's code, got {ac.supervised_by!r}")
    return tuple(out)


def load_domain_config(config_dir: Path, *, allow_short_units: bool = False) -> DomainConfig:
    """Load and validate every config file; raises ConfigError naming file, key and problem."""
    routing, routing_raw = _read_yaml(config_dir / "routing.yaml")
    ruleset = RuleSet.from_mapping(routing, routing_raw)
    bodies_data, _ = _read_yaml(config_dir / "bodies.yaml")
    bodies = Bodies.from_mapping(bodies_data, allow_short_units=allow_short_units)
    divisions = DivisionTree.from_mapping(_read_yaml(config_dir / "divisions.yaml")[0])
    agencies = load_agencies(_read_yaml(config_dir / "agencies.yaml")[0], divisions)
    holidays_path = config_dir / "holidays.yaml"
    overrides = load_overrides(_read_yaml(holidays_path)[0] or {}) if holidays_path.exists() else {}
    for year, o in sorted(overrides.items()):
        if o.provisional:
            log.warning("holidays.yaml: the %s calendar is provisional; replace it with the State Council notice",
                        year)
    reports_path = config_dir / "reports.yaml"
    thresholds = Thresholds.from_mapping(_read_yaml(reports_path)[0] if reports_path.exists() else None)
    return DomainConfig(ruleset, bodies, divisions, agencies, WorkCalendar(overrides), thresholds)


@dataclass(frozen=True)
class Settings:
    database_url: str
    broker_url: str
    config_dir: Path
    var_dir: Path
    secret_key: str
    pii_key: bytes
    pii_old_keys: tuple[bytes, ...] = ()  # earlier ROUTER_PII_KEYs, still read until `keys rotate-pii`
    max_body_bytes: int = 256 * 1024
    max_queue_seconds: float = 5.0  # a request that waited longer for a thread is shed (503), 0: never
    allow_short_deadlines: bool = False
    public_url: str = "http://127.0.0.1:8000"
    crypto: str = "standard"  # the cryptographic suite: standard | gm (国密, store/crypto.py)
    anchor_url: str | None = None  # an outside witness the daily audit anchor is sent to (services/anchors.py)
    delivery_limit: int = 10
    broker_prefix: str = "router"
    # Standard Webhooks' schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about a day).
    delivery_schedule: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    lease_seconds: float = 120.0
    circuit_cooldown: float = 30.0
    # The web pages' sessions: idle sign-out, and the lock-out after wrong passwords.
    session_idle_minutes: int = 30
    login_lock_after: int = 5
    login_lock_minutes: int = 15
    extra: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def domain(self) -> DomainConfig:
        return load_domain_config(self.config_dir, allow_short_units=self.allow_short_deadlines)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _key(env: Mapping[str, str], name: str, var_dir: Path, length: int) -> str:
    """A secret from the environment, else one generated once and kept in var/ (embedded default)."""
    if env.get(name):
        return env[name]
    path = var_dir / f"{name.lower()}.key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = base64.urlsafe_b64encode(secrets.token_bytes(length)).decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    log.warning("%s not set: generated one in %s (set it explicitly in production)", name, path)
    return value


def _delivery_tuning(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        if env.get("ROUTER_DELIVERY_SCHEDULE"):
            out["delivery_schedule"] = tuple(float(x) for x in env["ROUTER_DELIVERY_SCHEDULE"].split(","))
        if env.get("ROUTER_DELIVERY_LEASE_SECONDS"):
            out["lease_seconds"] = float(env["ROUTER_DELIVERY_LEASE_SECONDS"])
        if env.get("ROUTER_CIRCUIT_COOLDOWN_SECONDS"):
            out["circuit_cooldown"] = float(env["ROUTER_CIRCUIT_COOLDOWN_SECONDS"])
        if env.get("ROUTER_DELIVERY_LIMIT"):
            out["delivery_limit"] = int(env["ROUTER_DELIVERY_LIMIT"])
    except ValueError as e:
        raise ConfigError("environment", "ROUTER_DELIVERY_*", f"must be numbers: {e}") from None
    return out


def _web_tuning(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var, key in (("ROUTER_SESSION_IDLE_MINUTES", "session_idle_minutes"),
                     ("ROUTER_LOGIN_LOCK_AFTER", "login_lock_after"),
                     ("ROUTER_LOGIN_LOCK_MINUTES", "login_lock_minutes")):
        if env.get(var):
            try:
                out[key] = int(env[var])
            except ValueError:
                raise ConfigError("environment", var, "must be a whole number") from None
            if out[key] < 1:
                raise ConfigError("environment", var, "must be at least 1")
    return out


def _pii_key(text: str, name: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.encode() + b"==")
    except ValueError:
        raise ConfigError("environment", name, "must be url-safe base64 of 32 bytes") from None
    if len(key) != 32:
        raise ConfigError("environment", name, "must be url-safe base64 of 32 bytes")
    return key


def _old_pii_keys(env: Mapping[str, str]) -> tuple[bytes, ...]:
    """ROUTER_PII_OLD_KEYS: the keys ROUTER_PII_KEY replaced, comma-separated, newest first."""
    return tuple(_pii_key(k.strip(), "ROUTER_PII_OLD_KEYS") for k in env.get("ROUTER_PII_OLD_KEYS", "").split(",")
                 if k.strip())


def _crypto(env: Mapping[str, str]) -> str:
    name = (env.get("ROUTER_CRYPTO") or "standard").strip().lower()
    if name not in ("standard", "gm"):
        raise ConfigError("environment", "ROUTER_CRYPTO", "must be standard or gm (国密: SM3, SM4)")
    return name


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    var_dir = Path(env.get("ROUTER_VAR_DIR", DEFAULT_VAR_DIR))
    db = env.get("ROUTER_DATABASE_URL") or f"sqlite:///{(var_dir / 'router.db').resolve()}"
    pii = _key(env, "ROUTER_PII_KEY", var_dir, 32)
    pii_bytes = _pii_key(pii, "ROUTER_PII_KEY")
    try:
        max_body = int(env.get("ROUTER_MAX_BODY_BYTES", 256 * 1024))
    except ValueError:
        raise ConfigError("environment", "ROUTER_MAX_BODY_BYTES", "must be an integer") from None
    try:
        max_queue = float(env.get("ROUTER_MAX_QUEUE_SECONDS", 5.0))
    except ValueError:
        raise ConfigError("environment", "ROUTER_MAX_QUEUE_SECONDS", "must be a number of seconds") from None
    return Settings(
        database_url=db,
        broker_url=env.get("ROUTER_BROKER_URL", DEFAULT_BROKER_URL),
        config_dir=Path(env.get("ROUTER_CONFIG_DIR", DEFAULT_CONFIG_DIR)),
        var_dir=var_dir,
        secret_key=_key(env, "ROUTER_SECRET_KEY", var_dir, 32),
        pii_key=pii_bytes,
        pii_old_keys=_old_pii_keys(env),
        max_body_bytes=max_body,
        max_queue_seconds=max_queue,
        allow_short_deadlines=env.get("ROUTER_ALLOW_SHORT_DEADLINES", "") in ("1", "true", "yes"),
        public_url=env.get("ROUTER_PUBLIC_URL", "http://127.0.0.1:8000"),
        anchor_url=env.get("ROUTER_ANCHOR_URL") or None,
        crypto=_crypto(env),
        broker_prefix=env.get("ROUTER_BROKER_PREFIX", "router"),
        **_delivery_tuning(env),
        **_web_tuning(env),
    )
