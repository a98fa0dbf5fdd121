"""One reaction to "a handoff was not taken", whatever the cause: the body returned it (退回), let its
acknowledgement deadline pass in silence, or could not be reached. A lead is replaced (the next
candidate, or supervisors); a court's judicial-confirmation request is given up, so the agreement is
performed as it stands; an assisting body's absence changes nothing else (docs/domain.md §7).
"""

from __future__ import annotations

from router.domain.model import ReturnReason
from router.services.aftercare import enforcement_not_taken
from router.services.agreement import confirmation_not_taken
from router.services.dispatch import replace_lead
from router.services.operation import Operation
from router.store.models import Handoff
from router.workflows.handoff import HandoffRole


def handoff_not_taken(op: Operation, h: Handoff, reason: str, code: ReturnReason = ReturnReason.OTHER) -> None:
    """`code`: a return's reason code (silence and unreachable bodies are `other`)."""
    if h.role == HandoffRole.LEAD:
        replace_lead(op, h, reason, code)
    elif h.role == HandoffRole.CONFIRM:
        confirmation_not_taken(op, h, reason)
    elif h.role == HandoffRole.ENFORCE:
        enforcement_not_taken(op, h, reason)
