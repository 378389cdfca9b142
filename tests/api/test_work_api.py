"""Tasks and activities through the API (issue 12): CRUD and transitions through the services,
the task form's choices, and another team's task or activity a 404 on every route."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import access
from crm.models import Activity, Company, Event, Role, Task, TaskStatus
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
)
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def post(client, path, data=None, **headers):
    return client.post(path, data or {}, content_type="application/json", headers=headers)


def patch(client, path, data, **headers):
    return client.patch(path, data, content_type="application/json", headers=headers)


@pytest.fixture
def deal(rep, sales_team):
    return DealFactory(owner=rep, team=sales_team)


@pytest.fixture
def task(rep, deal):
    return TaskFactory(title="Call back", assignee=rep, created_by=rep, deal=deal)


@pytest.fixture
def foreign_task(outsider, other_team):
    deal = DealFactory(owner=outsider, team=other_team)
    return TaskFactory(title="Theirs", assignee=outsider, created_by=outsider, deal=deal)


def test_a_rep_creates_edits_completes_and_reopens_a_task(client, rep, teammate, deal):
    client.force_login(rep)
    created = post(
        client,
        "/api/tasks/",
        {"title": "Send the quote", "deal": deal.pk, "priority": "high"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["assignee"] == rep.pk and body["status"] == TaskStatus.OPEN
    path = f"/api/tasks/{body['id']}/"
    # The status moves only through its actions: a PATCH naming it is refused, nothing written.
    refused = patch(client, path, {"assignee": teammate.pk, "status": "done"})
    assert refused.status_code == 400 and "status" in refused.json()["errors"]
    assert Task.objects.get(pk=body["id"]).assignee == rep
    changed = patch(client, path, {"assignee": teammate.pk})
    assert changed.status_code == 200
    assert changed.json()["assignee"] == teammate.pk
    assert post(client, path + "complete/").json()["status"] == TaskStatus.DONE
    again = post(client, path + "complete/")
    assert again.status_code == 400 and again.json()["detail"] == "The task is already done."
    assert post(client, path + "reopen/").json()["status"] == TaskStatus.OPEN
    types = set(Event.objects.filter(record_type="task").values_list("type", flat=True))
    assert {"task.created", "task.updated", "task.completed", "task.reopened"} <= types


def test_a_task_takes_only_the_task_forms_choices(client, rep, outsider, foreign_task):
    client.force_login(rep)
    tasks = Task.objects.count()
    for data, field in (
        ({"title": "x", "assignee": outsider.pk}, "assignee"),
        ({"title": "x", "deal": foreign_task.deal_id}, "deal"),
        ({"title": "x", "parent": foreign_task.pk}, "parent"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "x", "due_at": "soon"}, "due_at"),
    ):
        response = post(client, "/api/tasks/", data)
        assert response.status_code == 400, data
        assert field in response.json()["errors"], data
    assert Task.objects.count() == tasks


def test_another_teams_task_is_404_on_every_route_and_nothing_is_written(client, rep, foreign_task):
    client.force_login(rep)
    events = Event.objects.count()
    path = f"/api/tasks/{foreign_task.pk}/"
    assert client.get(path).status_code == 404
    assert patch(client, path, {"title": "Mine now"}).status_code == 404
    assert client.delete(path).status_code in (403, 404)
    assert post(client, path + "complete/").status_code == 404
    assert post(client, path + "reopen/").status_code == 404
    assert client.get("/api/tasks/").json()["results"] == []
    # Filtering by another team's deal answers as an unknown id: which ids exist stays hidden.
    for deal_id in (foreign_task.deal_id, 10**9):
        response = client.get(f"/api/tasks/?deal={deal_id}")
        assert response.status_code == 400 and "deal" in response.json()["errors"]
    foreign_task.refresh_from_db()
    assert (foreign_task.title, foreign_task.status) == ("Theirs", TaskStatus.OPEN)
    assert Event.objects.count() == events


def test_only_a_manager_deletes_a_task(client, rep, manager, task):
    client.force_login(rep)
    assert client.delete(f"/api/tasks/{task.pk}/").status_code == 403
    client.force_login(manager)
    assert client.delete(f"/api/tasks/{task.pk}/").status_code == 204
    assert not Task.objects.filter(pk=task.pk).exists()


def test_a_stale_if_match_is_refused_and_an_idempotency_key_replays(client, rep, task):
    client.force_login(rep)
    path = f"/api/tasks/{task.pk}/"
    etag = client.get(path).headers["ETag"]
    assert patch(client, path, {"title": "First"}, **{"If-Match": etag}).status_code == 200
    stale = patch(client, path, {"title": "Second"}, **{"If-Match": etag})
    assert stale.status_code == 412
    task.refresh_from_db()
    assert task.title == "First"
    first = post(client, "/api/tasks/", {"title": "Once"}, **{"Idempotency-Key": "k1"})
    second = post(client, "/api/tasks/", {"title": "Once"}, **{"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Task.objects.filter(title="Once").count() == 1


def test_activities_are_logged_on_records_the_user_may_change(
    client, rep, agent, deal, foreign_task
):
    client.force_login(rep)
    logged = post(client, "/api/activities/", {"kind": "call", "subject": "Intro", "deal": deal.pk})
    assert logged.status_code == 201, logged.content
    assert logged.json()["deal"] == deal.pk and logged.json()["user"] == rep.pk
    assert [row["id"] for row in client.get("/api/activities/").json()["results"]] == [
        logged.json()["id"]
    ]
    count = Activity.objects.count()
    refused = (
        ({"kind": "call", "deal": foreign_task.deal_id}, 404),  # another team's deal
        ({"kind": "call", "deal": 10**9}, 404),
        ({"kind": "call"}, 400),  # no record
        ({"kind": "call", "deal": deal.pk, "lead": 1}, 400),  # two records
        ({"kind": "dance", "deal": deal.pk}, 400),
        ({"kind": "call", "deal": deal.pk, "occurred_at": "2999-01-01T00:00:00Z"}, 400),
        ({"kind": "call", "deal": "abc"}, 400),
    )
    for data, status in refused:
        assert post(client, "/api/activities/", data).status_code == status, data
    assert Activity.objects.count() == count
    # An agent reads deals nowhere: logging on one is a 404, as the page.
    client.force_login(agent)
    assert post(client, "/api/activities/", {"kind": "call", "deal": deal.pk}).status_code == 404
    activity = Activity.objects.get()
    assert client.get(f"/api/activities/{activity.pk}/").status_code == 404
    assert client.patch(f"/api/activities/{activity.pk}/", {}).status_code == 405


def test_another_teams_activity_is_404(client, outsider, other_team, rep, deal):
    client.force_login(rep)
    post(client, "/api/activities/", {"kind": "call", "deal": deal.pk})
    activity = Activity.objects.get()
    client.force_login(outsider)
    assert client.get(f"/api/activities/{activity.pk}/").status_code == 404
    assert client.get("/api/activities/").json()["results"] == []


def test_an_agent_reads_the_activities_of_their_team_and_its_records_only(
    client, agent, rep, sales_team, deal
):
    """An agent's rule is written as index probes of their team's record ids (crm/access.py):
    the same rows as the joined rule every other role uses."""
    support_agent = UserFactory(username="sofia", role=Role.SUPPORT_AGENT)
    support = TeamFactory(name="Support", members=[agent, support_agent])
    theirs = [
        Activity.objects.create(kind="call", user=agent, deal=deal),
        Activity.objects.create(kind="call", user=support_agent, deal=deal),
    ]
    for field, factory in (
        ("lead", LeadFactory),
        ("deal", DealFactory),
        ("contact", ContactFactory),
        ("company", CompanyFactory),
    ):
        record = factory(owner=rep, team=support)
        theirs.append(Activity.objects.create(kind="email", user=rep, **{field: record}))
        hidden = factory(owner=rep, team=sales_team)
        Activity.objects.create(kind="email", user=rep, **{field: hidden})
    client.force_login(agent)

    listed = {row["id"] for row in client.get("/api/activities/").json()["results"]}

    assert listed == {activity.pk for activity in theirs}
    joined = Activity.objects.filter(
        access.Q(user_id__in=access.member_ids(agent))
        | access.Q(lead__team=support)
        | access.Q(deal__team=support)
        | access.Q(contact__team=support)
        | access.Q(company__team=support)
    )
    assert set(access.visible(Activity, agent).values_list("pk", flat=True)) == set(
        joined.values_list("pk", flat=True)
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_an_agents_activities_are_index_probes_not_a_scan_of_every_activity(agent):
    """An agent's team holds few sales records: their page of activities must not read the
    whole table backwards looking for matches (1 s on 1.19M activities)."""
    TeamFactory(name="Support", members=[agent])
    companies = Company.objects.bulk_create(Company(name=f"C{n}") for n in range(3000))
    Activity.objects.bulk_create(Activity(kind="call", company=c) for c in companies)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_activity")
    sql, params = access.visible(Activity, agent).order_by("-pk")[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "BitmapOr" in plan and "Index Scan Backward" not in plan, plan


@pytest.mark.parametrize("resource", ["tasks", "activities"])
def test_lists_run_the_same_queries_for_5_and_50_rows(client, rep, deal, resource):
    client.force_login(rep)

    def count(rows):
        for _n in range(rows):
            if resource == "tasks":
                TaskFactory(assignee=rep, created_by=rep, deal=deal)
            else:
                Activity.objects.create(kind="call", user=rep, deal=deal)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/{resource}/?page_size=200")
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    small, shown = count(5)
    assert shown == 5
    large, shown = count(45)
    assert shown == 50
    assert large == small


def test_goals_automation_rules_and_runs_read_as_the_pages_allow(
    client, rep, manager, outsider, sales_team, other_team, deal, foreign_task
):
    from automations.models import RuleRun, RunStatus
    from goals.models import Scope
    from tests.automations.factories import make_rule
    from tests.goals.factories import make_goal, make_target

    ours = make_goal(owner=manager, scope=Scope.TEAM, team=sales_team, name="Ours")
    make_target(ours, start_value=0, target_value=10, name="Calls")
    theirs = make_goal(owner=manager, scope=Scope.TEAM, team=other_team, name="Theirs")
    rule = make_rule(trigger={"type": "record.created", "record_type": "deal"})
    runs = [
        RuleRun.objects.create(
            rule=rule,
            rule_version=1,
            tick=str(record.pk),
            record_type="deal",
            record_id=record.pk,
            status=RunStatus.MATCHED,
        )
        for record in (deal, foreign_task.deal)
    ]
    client.force_login(rep)
    goal = client.get(f"/api/goals/{ours.pk}/").json()
    assert [target["name"] for target in goal["targets"]] == ["Calls"]
    assert client.get(f"/api/goals/{theirs.pk}/").status_code == 404
    assert client.get("/api/automation-rules/").status_code == 403
    listed = client.get("/api/automation-runs/").json()["results"]
    assert [row["id"] for row in listed] == [runs[0].pk]
    assert client.get(f"/api/automation-runs/{runs[1].pk}/").status_code == 404
    client.force_login(manager)
    assert rule.pk in [r["id"] for r in client.get("/api/automation-rules/").json()["results"]]
    assert len(client.get("/api/automation-runs/").json()["results"]) == 2


def test_a_tasks_custom_fields_are_read_written_and_validated_as_in_the_form(client, rep, task):
    from crm.models import FieldType, RecordType
    from tests.crm.factories import CustomFieldFactory

    CustomFieldFactory(
        record_type=RecordType.TASK, key="effort", label="Effort", field_type=FieldType.NUMBER
    )
    client.force_login(rep)
    path = f"/api/tasks/{task.pk}/"
    assert patch(client, path, {"custom": {"effort": "3"}}).json()["custom"] == {"effort": 3}
    for bad in ({"effort": "lots"}, {"colour": "red"}, ["effort"]):
        response = patch(client, path, {"custom": bad})
        assert response.status_code == 400 and "custom" in response.json()["errors"], bad
    task.refresh_from_db()
    assert task.custom == {"effort": 3}
    assert [r["id"] for r in client.get("/api/tasks/?cf_effort=3").json()["results"]] == [task.pk]
    assert client.get("/api/tasks/?cf_effort__gte=4").json()["results"] == []
    refused = client.get("/api/tasks/?cf_effort__gte=lots")
    assert refused.status_code == 400 and "cf_effort__gte" in refused.json()["errors"]
