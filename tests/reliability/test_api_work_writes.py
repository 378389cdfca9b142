"""Hostile values in every field of the API's task, activity and ticket writes (issue 12): each
is a clean 4xx with nothing written, or an accepted write; never a server error."""

import pytest
from django.db import transaction

from crm.models import Activity, Event, Task, TicketMessage
from tests.crm.factories import ContactFactory, DealFactory, TaskFactory, TicketFactory
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

RTL = "\u202eمرحبا עולם 🎉👩‍👩‍👧"
VALUES = (
    "A" * 20_001,
    RTL,
    "bad\x00nul",
    "1e309",
    "NaN",
    10**30,
    -(2**63),
    2**63,
    True,
    None,
    [],
    {"a": 1},
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "abc",
)
WRITTEN = (Task, Activity, TicketMessage, Event)


def counts():
    return [model.objects.count() for model in WRITTEN]


@pytest.fixture
def world(rep, agent, manager, sales_team):
    support = TeamFactory(name="Support", manager=manager, members=[agent])
    deal = DealFactory(owner=rep, team=sales_team)
    return {
        "deal": deal,
        "task": TaskFactory(assignee=rep, created_by=rep, deal=deal),
        "ticket": TicketFactory(
            contact=ContactFactory(owner=rep, team=sales_team), assignee=agent, team=support
        ),
    }


def test_hostile_values_in_the_apis_task_activity_and_ticket_writes(
    client, rep, agent, world, figures
):
    deal, task, ticket = world["deal"], world["task"], world["ticket"]
    writes = [
        (rep, "post", "/api/tasks/", {"title": "T", "deal": deal.pk}),
        (rep, "patch", f"/api/tasks/{task.pk}/", {"title": "T"}),
        (rep, "post", "/api/activities/", {"kind": "call", "deal": deal.pk}),
        (agent, "post", f"/api/tickets/{ticket.pk}/reply/", {"body": "Hi"}),
        (agent, "post", f"/api/tickets/{ticket.pk}/note/", {"body": "Hi"}),
    ]
    task_fields = ["title", "notes", "due_at", "priority", "assignee", "parent", "deal", "custom"]
    fields = {
        "/api/tasks/": task_fields,
        # The same serializer as the create: the fields an edit changes most.
        f"/api/tasks/{task.pk}/": ["title", "due_at", "assignee"],
        "/api/activities/": ["kind", "direction", "subject", "body", "occurred_at", "deal"],
    }
    refused_but_written = []
    for user, method, path, valid in writes:
        client.force_login(user)
        for name in fields.get(path, ["body", "status"]):
            for value in VALUES:
                figures.tried("bad_inputs")
                before = counts()
                # A savepoint: a database error must not spoil the next request's queries.
                with transaction.atomic():
                    response = getattr(client, method)(
                        path, {**valid, name: value}, content_type="application/json"
                    )
                label = f"{method.upper()} {path} {name}={str(value)[:30]!r}"
                if response.status_code >= 500:
                    figures.add("server_errors", f"{label}: {response.status_code}")
                elif response.status_code >= 400:
                    figures.add("clean_rejections")
                    if counts() != before:
                        refused_but_written.append(label)
    assert refused_but_written == []
