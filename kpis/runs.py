"""Recompute runs asked for by a manager (the API): queue one after commit, and read its state.

A queued run is remembered in the cache under its task id (who asked, full or incremental) for
`settings.CELERY_RESULT_EXPIRES`, so an id that was never issued is unknown rather than
"PENDING" (Celery's answer for any id it has no result for). In the embedded mode (no broker,
tasks eager) the run happens in the request, after commit, and its final state is remembered
with it: eager results are not stored in a result backend.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from celery.result import AsyncResult
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from kpis import tasks

if TYPE_CHECKING:
    from people.models import User

PENDING = "PENDING"


@dataclass(frozen=True)
class RunState:
    task_id: str
    state: str
    full: bool


def _key(task_id: str) -> str:
    return f"kpis:recompute:{task_id}"


def _timeout() -> int:
    return int(getattr(settings, "CELERY_RESULT_EXPIRES", 24 * 60 * 60))


def recompute_enqueue(*, full: bool, requested_by: User) -> RunState:
    """Queue `kpis.recompute` (or `kpis.recompute_full`) once the current transaction commits."""
    task = tasks.recompute_full if full else tasks.recompute
    task_id = str(uuid.uuid4())
    record = {"full": full, "requested_by": requested_by.pk}
    cache.set(_key(task_id), record, _timeout())

    def send() -> None:
        if task.app.conf.task_always_eager:
            result = task.apply(task_id=task_id, throw=False)
            cache.set(_key(task_id), {**record, "state": result.state}, _timeout())
        else:
            task.apply_async(task_id=task_id)

    transaction.on_commit(send)
    return recompute_state(task_id=task_id) or RunState(task_id, PENDING, full)


def recompute_state(*, task_id: str) -> RunState | None:
    """The state of a run queued by `recompute_enqueue`; None for an id it never issued."""
    record = cache.get(_key(task_id))
    if record is None:
        return None
    state = record.get("state")
    if state is None:
        app = tasks.recompute.app
        # Eager: not run yet (its transaction has not committed); there is no backend to ask.
        state = PENDING if app.conf.task_always_eager else AsyncResult(task_id, app=app).state
    return RunState(task_id, state, record["full"])
