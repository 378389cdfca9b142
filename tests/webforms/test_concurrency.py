"""Submissions at the same moment (PostgreSQL): the same page sent twice at once is one
submission, and round-robin gives simultaneous submissions to different people."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from crm.models import Lead
from tests.factories import TeamFactory, UserFactory
from tests.reliability.test_concurrent_dedupe import race
from webforms.models import AssignRule, WebFormSubmission

from .factories import aged_token, make_form

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]
AT_ONCE = 3


def send(url: str, data: dict):
    return lambda: Client().post(url, data).status_code


def test_one_page_sent_at_once_from_three_tabs_is_one_lead():
    webform = make_form()
    data = {"_token": aged_token(webform), "name": "Tabs", "email": "t@example.com"}

    results = race(*[send(reverse("webform-page", args=[webform.slug]), data)] * AT_ONCE)

    assert results == [200] * AT_ONCE
    assert Lead.objects.count() == 1
    assert WebFormSubmission.objects.count() == 1


def test_round_robin_at_once_gives_each_member_one():
    members = [UserFactory(username=f"member{n}") for n in range(AT_ONCE)]
    team = TeamFactory(name="Inbound", members=members)
    webform = make_form(assign_rule=AssignRule.ROUND_ROBIN, team=team)
    url = reverse("webform-page", args=[webform.slug])

    results = race(
        *[
            send(url, {"_token": aged_token(webform), "name": f"L{n}", "email": f"{n}@x.example"})
            for n in range(AT_ONCE)
        ]
    )

    assert results == [200] * AT_ONCE
    owners = sorted(Lead.objects.values_list("owner__username", flat=True))
    assert owners == sorted(member.username for member in members)
