"""Celery tasks of exports (thin: ids in, one service call). Routed to the `transfers` queue
by name (crm.settings CELERY_TASK_ROUTES)."""

from celery import shared_task


@shared_task(name="exports.run_export", soft_time_limit=1800, time_limit=1900)
def run_export(job_id: int) -> bool:
    from .services import export_job_run

    return export_job_run(job_id=job_id)


@shared_task(name="exports.delete_expired", soft_time_limit=240, time_limit=280)
def delete_expired() -> int:
    from .services import export_jobs_expire

    return export_jobs_expire()
