"""A supervisor's action posted from a dialog: validated by the API's schema, done by the same
service. With htmx the changed part (the queue, or the dispute) comes back in place, no reload; a
refusal (409) or a wrong field (422) is shown in Chinese inside the dialog. Without JavaScript the
form posts, and the page it came from is shown again with what was done."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Response, flash, g, redirect, request
from marshmallow import ValidationError as SchemaError
from werkzeug.datastructures import MultiDict

from router.domain.errors import DomainError, NotFound, StateConflict, ValidationError
from router.domain.personal_text import masked_zh
from router.schemas.disputes import ActionIn
from router.schemas.messages import flatten
from router.web.actions import DONE
from router.web.blueprint import web
from router.web.dispute import dispute_context
from router.web.pages import fragment, is_htmx, page
from router.web.session import requires, safe_next, svc
from router.web.workbench import queue_context

_ACTION = ActionIn()


def _data(form: Any) -> dict[str, Any]:
    """The dialog's fields as ActionIn takes them: blank means absent."""
    data = {k: v.strip() for k, v in form.items() if k in _ACTION.fields and v.strip()}
    if "relapse" in data:
        data["relapse"] = data["relapse"] in ("1", "on", "true")
    return data


@web.post("/disputes/<dispute_id>/actions")
@requires("supervisor", "admin")
def act(dispute_id: str) -> Response:
    back = safe_next(request.form.get("next")) or f"/disputes/{dispute_id}"
    dialog = request.form.get("dialog", "")
    try:
        data = _ACTION.load(_data(request.form))
        svc().act(dispute_id, data, g.user)
    except SchemaError as e:
        return _refused(422, [m for ms in flatten(e.messages, zh=True).values() for m in ms], dialog, back)
    except NotFound:
        return page("error.html", 404, title="纠纷不存在", message="没有这个纠纷，或您无权查看。")
    except ValidationError as e:
        return _refused(422, [m[0] for ms in e.fields.values() for m in ms] or [e.message_zh], dialog, back)
    except (StateConflict, DomainError) as e:
        return _refused(409, [e.message_zh], dialog, back)
    done = DONE.get(data["action"], "已办理")
    if masked := masked_zh(data.get("reason"), data.get("note")):
        done = f"{done}。{masked}"
    if not is_htmx():
        flash(done)
        return redirect(back, code=303)
    path = urlsplit(back)
    if path.path.startswith("/supervise"):
        args = MultiDict({k: v[0] for k, v in parse_qs(path.query).items()})
        return fragment("supervise/queues.html", "queue", done=done, **queue_context(args))
    return fragment("dispute/page.html", "dispute", done=done, **dispute_context(dispute_id))


def _refused(status: int, messages: list[str], dialog: str, back: str) -> Response:
    if is_htmx() and dialog:
        return fragment("partials/refused.html", "refused", status, messages=messages,
                        headers={"HX-Retarget": f"#{dialog}-error", "HX-Reswap": "innerHTML"})
    return page("error.html", status, title="操作未执行" if status == 409 else "填写有误", message="；".join(messages),
                back=back)
