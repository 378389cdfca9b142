"""Enqueue a Celery task once the current transaction commits.

Services never import `crm.tasks` at module level (the tasks import the services); they name
the task here instead.
"""

from django.db import transaction


def enqueue_on_commit(task_name: str, *args) -> None:
    """Send `crm.tasks.<task_name>` after commit; a broker outage must not undo the change."""
    from crm import tasks

    task = getattr(tasks, task_name)

    def send_task():
        task.delay(*args)

    send_task.__qualname__ = f"enqueue {task.name}"  # named in the log if the broker fails
    transaction.on_commit(send_task, robust=True)
