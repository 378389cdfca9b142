"""My tasks, a task's page, create, subtasks, custom fields, complete, reopen, reassign."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import FieldType, RecordType, Task, TaskStatus
from crm.views.tasks import day_bounds
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    TaskFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def section_titles(response, key):
    for name, _title, tasks in response.context["sections"]:
        if name == key:
            return [task.title for task in tasks]
    raise KeyError(key)


def test_my_tasks_sections(client, rep, sales_team, teammate):
    start, end = day_bounds()
    TaskFactory(title="Late", assignee=rep, due_at=start - timedelta(hours=1))
    TaskFactory(title="Today", assignee=rep, due_at=start + timedelta(minutes=1))
    TaskFactory(title="Tonight", assignee=rep, due_at=end - timedelta(minutes=1))
    TaskFactory(title="Tomorrow", assignee=rep, due_at=end)
    TaskFactory(title="Someday", assignee=rep, due_at=None)
    finished = TaskFactory(title="Finished", assignee=rep)
    TaskFactory(title="Not mine", assignee=teammate, due_at=start)
    client.force_login(rep)
    client.post(reverse("task-complete", args=[finished.pk]))

    response = client.get(reverse("tasks"))

    assert response.status_code == 200
    assert section_titles(response, "overdue") == ["Late"]
    assert section_titles(response, "today") == ["Today", "Tonight"]
    assert section_titles(response, "upcoming") == ["Tomorrow", "Someday"]
    assert section_titles(response, "done") == ["Finished"]
    assert "Not mine" not in response.content.decode()


@pytest.mark.parametrize("time_zone", ["Pacific/Auckland", "America/Los_Angeles"])
def test_sections_follow_the_site_time_zone(client, rep, sales_team, settings, time_zone):
    settings.TIME_ZONE = time_zone
    start, _end = day_bounds()
    TaskFactory(title="Just before midnight", assignee=rep, due_at=start - timedelta(minutes=1))
    TaskFactory(title="Just after midnight", assignee=rep, due_at=start + timedelta(minutes=1))
    client.force_login(rep)
    response = client.get(reverse("tasks"))
    assert section_titles(response, "overdue") == ["Just before midnight"]
    assert section_titles(response, "today") == ["Just after midnight"]


def test_complete_in_one_click_and_reopen(client, rep, sales_team):
    task = TaskFactory(title="Ring", assignee=rep)
    client.force_login(rep)
    response = client.post(reverse("task-complete", args=[task.pk]), **HTMX)
    assert response.status_code == 200
    assert "task-done" in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_at is not None

    # Completing twice is refused cleanly.
    response = client.post(reverse("task-complete", args=[task.pk]))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE

    response = client.post(reverse("task-reopen", args=[task.pk]), **HTMX)
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.completed_at is None


def test_reassign_to_a_teammate_only(client, rep, teammate, sales_team, outsider, other_team):
    task = TaskFactory(assignee=rep)
    client.force_login(rep)
    response = client.post(reverse("task-reassign", args=[task.pk]), {"assignee": teammate.pk})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.assignee == teammate
    # Someone outside the teams is refused, nothing changes.
    client.post(reverse("task-reassign", args=[task.pk]), {"assignee": outsider.pk})
    task.refresh_from_db()
    assert task.assignee == teammate


def test_create_a_task_on_its_own(client, rep, sales_team):
    client.force_login(rep)
    response = client.get(reverse("task-new"))
    assert response.status_code == 200
    response = client.post(
        reverse("task-new"),
        {
            "title": "Plan the quarter",
            "priority": "high",
            "assignee": rep.pk,
            "due_at": "2031-01-02T09:30",
        },
    )
    task = Task.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("task-detail", args=[task.pk])
    assert (task.title, task.priority, task.assignee, task.created_by) == (
        "Plan the quarter",
        "high",
        rep,
        rep,
    )
    assert timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") == "2031-01-02 09:30"


def test_create_from_a_record_is_prefilled(client, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team, name="Big Deal")
    client.force_login(rep)
    response = client.get(reverse("task-new"), {"deal": deal.pk, "next": "/deals/1/"})
    body = response.content.decode()
    assert "Big Deal" in body
    assert f'name="deal" value="{deal.pk}"' in body
    response = client.post(
        reverse("task-new"),
        {
            "title": "Send quote",
            "priority": "normal",
            "assignee": rep.pk,
            "deal": deal.pk,
            "next": "/deals/1/",
        },
    )
    assert response.status_code == 302 and response.url == "/deals/1/"
    assert Task.objects.get().deal == deal


def test_cannot_link_a_task_to_another_teams_record(client, rep, sales_team, outsider, other_team):
    lead = LeadFactory(owner=outsider, team=other_team)
    client.force_login(rep)
    assert client.get(reverse("task-new"), {"lead": lead.pk}).status_code == 404
    response = client.post(
        reverse("task-new"),
        {"title": "Sneaky", "priority": "normal", "assignee": rep.pk, "lead": lead.pk},
    )
    assert response.status_code == 400
    assert not Task.objects.exists()


def test_assignee_must_be_a_teammate(client, rep, sales_team, outsider, other_team):
    client.force_login(rep)
    response = client.post(
        reverse("task-new"), {"title": "X", "priority": "normal", "assignee": outsider.pk}
    )
    assert response.status_code == 400
    assert not Task.objects.exists()


def test_subtasks(client, rep, sales_team):
    deal = DealFactory(owner=rep, team=sales_team)
    parent = TaskFactory(title="Onboarding", assignee=rep, deal=deal)
    client.force_login(rep)
    response = client.get(reverse("task-new"), {"parent": parent.pk})
    body = response.content.decode()
    assert "Subtask of" in body and "Onboarding" in body
    assert f'name="deal" value="{deal.pk}"' in body  # inherits the parent's record
    response = client.post(
        reverse("task-new"),
        {
            "title": "Kick-off call",
            "priority": "normal",
            "assignee": rep.pk,
            "parent": parent.pk,
            "deal": deal.pk,
        },
    )
    child = Task.objects.get(title="Kick-off call")
    assert child.parent == parent and child.deal == deal
    response = client.get(reverse("task-detail", args=[parent.pk]))
    assert [t.title for t in response.context["subtasks"]] == ["Kick-off call"]
    assert "1 of 1 subtask open" in client.get(reverse("tasks")).content.decode()
    # A task cannot become its own ancestor's subtask.
    response = client.post(
        reverse("task-detail", args=[parent.pk]),
        {"title": "Onboarding", "priority": "normal", "assignee": rep.pk, "parent": child.pk},
    )
    assert response.status_code == 400
    parent.refresh_from_db()
    assert parent.parent is None


def test_custom_fields_in_the_task_form(client, rep, sales_team):
    CustomFieldFactory(
        record_type=RecordType.TASK,
        key="effort",
        label="Effort (h)",
        field_type=FieldType.NUMBER,
        required=True,
    )
    client.force_login(rep)
    response = client.get(reverse("task-new"))
    assert "Effort (h)" in response.content.decode()
    response = client.post(
        reverse("task-new"),
        {
            "title": "Keep this title",
            "priority": "normal",
            "assignee": rep.pk,
            "custom__effort": "lots",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'value="Keep this title"' in body
    assert 'value="lots"' in body
    assert "custom__effort-error" in body
    assert not Task.objects.exists()
    client.post(
        reverse("task-new"),
        {"title": "Estimate", "priority": "normal", "assignee": rep.pk, "custom__effort": "3"},
    )
    task = Task.objects.get()
    assert task.custom == {"effort": 3}
    # Editing keeps and changes the value.
    client.post(
        reverse("task-detail", args=[task.pk]),
        {"title": "Estimate", "priority": "normal", "assignee": rep.pk, "custom__effort": "5"},
    )
    task.refresh_from_db()
    assert task.custom == {"effort": 5}


def test_edit_a_task(client, rep, sales_team):
    task = TaskFactory(title="Old", assignee=rep)
    client.force_login(rep)
    response = client.get(reverse("task-detail", args=[task.pk]))
    assert 'value="Old"' in response.content.decode()
    response = client.post(
        reverse("task-detail", args=[task.pk]),
        {"title": "", "priority": "normal", "assignee": rep.pk},
    )
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.title == "Old"
    client.post(
        reverse("task-detail", args=[task.pk]),
        {"title": "New", "priority": "urgent", "assignee": rep.pk, "notes": "n"},
    )
    task.refresh_from_db()
    assert (task.title, task.priority, task.notes) == ("New", "urgent", "n")


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("task-detail", "get"),
        ("task-detail", "post"),
        ("task-complete", "post"),
        ("task-reopen", "post"),
        ("task-reassign", "post"),
    ],
)
def test_another_teams_task_is_404(client, rep, sales_team, outsider, other_team, name, method):
    task = TaskFactory(title="Theirs", assignee=outsider)
    client.force_login(rep)
    response = getattr(client, method)(reverse(name, args=[task.pk]), {"assignee": rep.pk})
    assert response.status_code == 404
    task.refresh_from_db()
    assert (task.title, task.status, task.assignee) == ("Theirs", TaskStatus.OPEN, outsider)


def test_teammate_manager_and_admin_reach_the_task(
    client, rep, teammate, manager, admin_user, sales_team
):
    task = TaskFactory(assignee=rep)
    for user in (teammate, manager, admin_user):
        client.force_login(user)
        assert client.get(reverse("task-detail", args=[task.pk])).status_code == 200


def test_my_tasks_query_count_is_constant(client, rep, sales_team, django_assert_max_num_queries):
    start, end = day_bounds()
    deal = DealFactory(owner=rep, team=sales_team)
    client.force_login(rep)

    def add(n):
        for i in range(n):
            parent = TaskFactory(assignee=rep, due_at=start - timedelta(hours=i + 1), deal=deal)
            TaskFactory(assignee=rep, due_at=start + timedelta(minutes=i), parent=parent)
            TaskFactory(assignee=rep, due_at=end + timedelta(days=i))
            done = TaskFactory(assignee=rep)
            client.post(reverse("task-complete", args=[done.pk]))

    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("tasks"))
    baseline = len(few)  # read now: later requests clear the query log
    assert baseline <= 11
    add(10)
    with django_assert_max_num_queries(baseline):
        response = client.get(reverse("tasks"))
    assert len(section_titles(response, "overdue")) == 11


def test_my_tasks_rows_name_and_link_what_each_task_is_about(
    client, rep, sales_team, django_assert_max_num_queries
):
    """Each kind of record a task is about shows by name, linked to its page, and the rows
    read their links together, whatever kinds they hold."""
    company = CompanyFactory(name="Acme Corp", owner=rep, team=sales_team)
    contact = ContactFactory(first_name="Ada", last_name="Lovelace", company=company)
    records = {
        "lead": LeadFactory(name="Grace Hopper", owner=rep, team=sales_team),
        "contact": contact,
        "company": company,
        "deal": DealFactory(name="Big renewal", company=company, owner=rep, team=sales_team),
        "ticket": TicketFactory(subject="Printer on fire", contact=contact, company=company),
    }
    parent = TaskFactory(title="Quarter plan", assignee=rep)
    TaskFactory(title="Step one", assignee=rep, parent=parent)
    for name, record in records.items():
        TaskFactory(title=f"About the {name}", assignee=rep, **{name: record})
    client.force_login(rep)
    client.get(reverse("tasks"))

    # As many as with one task: four sections and one query per kind of link (six), not per row.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("tasks"))

    page = response.content.decode()
    for name, record in records.items():
        url = reverse(f"{name}-detail", args=[record.pk])
        assert f'<a href="{url}">{record}</a>' in page, name
    assert f'<a href="{reverse("task-detail", args=[parent.pk])}">Quarter plan</a>' in page
    assert "Ada Lovelace" in page and "#" in str(records["ticket"])


def test_task_detail_query_count(client, rep, sales_team, django_assert_max_num_queries):
    parent = TaskFactory(assignee=rep)
    for _ in range(5):
        TaskFactory(assignee=rep, parent=parent)
    client.force_login(rep)
    with django_assert_max_num_queries(16):
        client.get(reverse("task-detail", args=[parent.pk]))
