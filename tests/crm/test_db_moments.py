"""A moment written with an offset PostgreSQL does not know (past ±15:59; Python reads up to
±23:59) is saved and searched as the same moment in UTC, never a server error."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from crm.models import Task

pytestmark = pytest.mark.django_db

FAR_OFFSET = "2031-01-02T09:30:00+21:27"
SAME_MOMENT = datetime(2031, 1, 1, 12, 3, tzinfo=UTC)


def test_a_task_due_at_a_far_offset_is_saved_as_that_moment(client, rep, sales_team):
    client.force_login(rep)
    data = {"title": "Call", "priority": "high", "assignee": rep.pk, "due_at": FAR_OFFSET}
    response = client.post(reverse("task-new"), data)
    assert response.status_code == 302
    assert Task.objects.get().due_at == SAME_MOMENT


def test_records_are_searched_by_a_moment_at_a_far_offset(rep):
    moment = datetime.fromisoformat(FAR_OFFSET)
    assert list(Task.objects.filter(due_at__lt=moment)) == []
