"""Two admins applying the same template at the same moment: the database's unique constraints
let one application through; the other is refused with nothing written, and a template never
adds an item twice. Needs PostgreSQL: SQLite runs one writer at a time."""

import threading

import pytest
from django.db import connection, connections

from business_templates.loader import TemplateError, load
from business_templates.models import AppliedItem
from business_templates.services import Status, template_apply
from crm.models import Pipeline
from metrics.models import Dashboard

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def at_once(*calls) -> list:
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            start.wait(timeout=30)
            results[index] = call()
        except Exception as error:  # the test reads it as that call's result
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_two_applications_at_once_add_each_item_once(admin_user):
    template = load("agency")

    def apply():
        return template_apply(template=template, language="en", actor=admin_user)

    results = at_once(apply, apply)

    applied = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, TemplateError)]
    assert len(applied) + len(refused) == 2, results
    assert applied, results
    assert Pipeline.objects.filter(name="Projects").count() == 1
    assert Dashboard.objects.filter(name="Client satisfaction (CSAT)").count() == 1
    added = sum(len(plan.with_status(Status.ADDED)) for plan in applied)
    assert AppliedItem.objects.filter(template="agency").count() == added
