from celery import shared_task


@shared_task(name="crm.ping", soft_time_limit=10, time_limit=20)
def ping(value: str) -> str:
    """Answers with what it was given: a health check of the broker and the workers."""
    return f"pong: {value}"
