from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Task, TaskStatus, User

from .errors import InvalidTransition
from .events import event_record
from .records import record_create, record_update


def task_create(*, actor: User | None, data: dict) -> Task:
    data = {"assignee": actor, "created_by": actor, **data}
    _check_parent(None, data.get("parent"))
    return record_create(Task, actor=actor, data=data)


def task_update(*, task: Task, actor: User | None, data: dict) -> Task:
    if "parent" in data:
        _check_parent(task, data["parent"])
    return record_update(task, actor=actor, data=data)


def task_complete(*, task: Task, actor: User | None) -> Task:
    return _set_status(task, TaskStatus.DONE, actor, event="task.completed")


def task_reopen(*, task: Task, actor: User | None) -> Task:
    return _set_status(task, TaskStatus.OPEN, actor, event="task.reopened")


def task_cancel(*, task: Task, actor: User | None) -> Task:
    return _set_status(task, TaskStatus.CANCELLED, actor, event="task.cancelled")


def _set_status(task: Task, status: str, actor, *, event: str) -> Task:
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.status == status:
            raise InvalidTransition(
                _("The task is already %s.") % task.get_status_display().lower()
            )
        before = (task.status, task.completed_at)
        task.status = status
        task.completed_at = timezone.now() if status == TaskStatus.DONE else None
        task.save(update_fields=["status", "completed_at", "updated_at"])
        event_record(
            type=event,
            instance=task,
            actor=actor,
            changes={"status": [before[0], status], "completed_at": [before[1], task.completed_at]},
        )
    return task


def _check_parent(task: Task | None, parent: Task | None) -> None:
    """A subtask's parent chain must not lead back to the task itself."""
    seen = parent
    while seen is not None:
        if task is not None and seen.pk == task.pk:
            raise InvalidTransition({"parent": _("A task cannot be a subtask of itself.")})
        seen = seen.parent
