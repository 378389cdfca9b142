"""Third-party pages under the strict CSP: the API docs (Swagger UI) and the admin's periodic
task form load their scripts from files, and those scripts run."""

import pytest
from django_celery_beat.models import CrontabSchedule

from tests.services import csp_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_api_docs_draw_the_swagger_ui_without_a_csp_violation(page_as, rep):
    page = page_as(rep)
    refused = csp_violations(page)
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info").wait_for()
    assert refused == []


def test_the_periodic_task_form_says_the_chosen_crontab_in_words(page_as, admin_user):
    crontab = CrontabSchedule.objects.create(minute="0", hour="7")
    page = page_as(admin_user)
    refused = csp_violations(page)
    page.goto("/admin/django_celery_beat/periodictask/add/")
    page.select_option("#id_crontab", str(crontab.pk))
    assert crontab.human_readable in page.locator(".field-crontab .help").inner_text()
    assert refused == []
