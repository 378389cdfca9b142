"""Celery tasks of the api app (thin: one service call each, safe to run twice)."""

from celery import shared_task


@shared_task(name="api.purge_old_rows", soft_time_limit=240, time_limit=280)
def purge_old_rows() -> dict[str, int]:
    """Hourly: idempotency keys past their replay window and finished webhook deliveries past
    their keep window, deleted in bounded batches (what is left waits for the next run)."""
    from webhooks.services import deliveries_purge

    from .services import idempotency_keys_purge

    return {
        "idempotency_keys": idempotency_keys_purge(),
        "webhook_deliveries": deliveries_purge(),
    }
