"""Celery tasks of the imports app (thin: a job id in, one service call; the `transfers`
queue). A big file takes minutes, so these run longer than the default limits, but end
before Redis hands an unacknowledged message out again (visibility_timeout, 3,600 s): a
50 MB file is about 650,000 rows, some 12 minutes at this machine's rate."""

from celery import shared_task


@shared_task(name="imports.run", soft_time_limit=3000, time_limit=3300)
def run_import(job_id: int) -> None:
    from .services import import_run

    import_run(job_id)


@shared_task(name="imports.undo", soft_time_limit=3000, time_limit=3300)
def undo_import(job_id: int) -> None:
    from .services import import_undo

    import_undo(job_id)
