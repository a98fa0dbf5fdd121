"""One adapter per family of bodies; `adapter_for(body_type)` picks it."""

from __future__ import annotations

from router.adapters.base import Adapter
from router.adapters.court import CourtAdapter
from router.adapters.expert_panel import ExpertPanelAdapter
from router.adapters.hotline_12345 import HotlineAdapter
from router.adapters.labour_arbitration import ArbitrationAdapter
from router.adapters.legal_aid import LegalAidAdapter
from router.adapters.mediation import MediationAdapter
from router.adapters.petition import PetitionAdapter
from router.adapters.police import PoliceAdapter
from router.adapters.procuratorate import ProcuratorateAdapter
from router.adapters.supervision import SupervisionAdapter

ADAPTERS: tuple[Adapter, ...] = (MediationAdapter(), CourtAdapter(), PoliceAdapter(), PetitionAdapter(),
                                 ProcuratorateAdapter(), HotlineAdapter(), ArbitrationAdapter(), LegalAidAdapter(),
                                 ExpertPanelAdapter(), SupervisionAdapter())
_BY_BODY = {b: a for a in ADAPTERS for b in a.body_types}


def adapter_for(body_type: str) -> Adapter:
    return _BY_BODY[body_type]


def all_body_types() -> list[str]:
    return sorted(_BY_BODY)
