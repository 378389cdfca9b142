"""Celery tasks of the imports app (thin: a job id in, one service call; the `transfers`
queue). A big file takes minutes, so these run longer than the default limits."""

from celery import shared_task


@shared_task(name="imports.run", soft_time_limit=3 * 3600, time_limit=3 * 3600 + 60)
def run_import(job_id: int) -> None:
    from .services import import_run

    import_run(job_id)


@shared_task(name="imports.undo", soft_time_limit=3600, time_limit=3660)
def undo_import(job_id: int) -> None:
    from .services import import_undo

    import_undo(job_id)
