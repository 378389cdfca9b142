"""The medium and large demo seeds are a whole company: teams of reps under their managers,
agents, several pipelines, and the business spread over the reps as in a real sales floor
(issue 19: with two reps, one owned 73 % of a million deals). Seeded here at a small size,
once for the module, in a transaction that is rolled back."""

from collections import Counter

import pytest
from django.db import transaction

from crm import models as m
from crm import seed
from crm.demo import DEMO_PIPELINES, REPS_PER_TEAM, SALES_TEAMS, SUPPORT_AGENTS, create_demo_users
from crm.models.users import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def company(django_db_setup, django_db_blocker):
    """Seeded once for the module in a transaction that is rolled back at its end."""
    scale = seed.Scale(companies=400, chunk=400, copy=False, organisation=True)
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setitem(seed.SCALES, "company", scale)
        with transaction.atomic():
            create_demo_users()
            yield seed.seed_demo(scale="company")
            transaction.set_rollback(True)


def _role_members(role: Role) -> set[int]:
    return set(m.User.objects.filter(groups__name=role.value).values_list("pk", flat=True))


def test_dozens_of_reps_in_teams_under_a_manager_and_ten_agents(company):
    for name in SALES_TEAMS:
        team = m.Team.objects.get(name=name)
        reps = team.members.filter(groups__name=Role.SALES_REP.value)
        assert reps.count() == REPS_PER_TEAM, name
        assert team.manager.groups.filter(name=Role.MANAGER.value).exists()
    agents = m.Team.objects.get(name="Support").members.filter(
        groups__name=Role.SUPPORT_AGENT.value
    )
    assert agents.count() == SUPPORT_AGENTS


def test_the_business_is_spread_over_the_reps_with_some_skew(company):
    owners = Counter(m.Deal.objects.values_list("owner_id", flat=True))
    total = sum(owners.values())
    shares = sorted((count / total for count in owners.values()), reverse=True)
    reps = _role_members(Role.SALES_REP)
    assert len(reps & set(owners)) >= 0.9 * len(SALES_TEAMS) * REPS_PER_TEAM
    assert shares[0] <= 0.12  # the busiest rep, not the whole company
    assert shares[0] >= 2 * shares[len(shares) // 2]  # and some sell more than others
    managers = _role_members(Role.MANAGER)
    assert sum(owners[pk] for pk in managers) <= 0.06 * total


def test_records_belong_to_their_owners_team(company):
    members = {
        team.pk: set(team.members.values_list("pk", flat=True)) for team in m.Team.objects.all()
    }
    for model in (m.Deal, m.Company, m.Lead, m.Contact):
        for owner, team in model.objects.values_list("owner_id", "team_id").distinct():
            assert owner in members[team], model.__name__


def test_deals_run_in_several_pipelines_by_kind(company):
    by_pipeline = Counter(m.Deal.objects.values_list("pipeline__name", "kind"))
    pipelines = {name for name, _kind in by_pipeline}
    assert pipelines == {"Sales", *DEMO_PIPELINES}
    assert by_pipeline["Renewals", m.DealKind.RENEWAL] > 0
    assert by_pipeline["Sales", m.DealKind.RENEWAL] == 0
    for deal in m.Deal.objects.select_related("stage")[:500]:
        assert deal.stage.pipeline_id == deal.pipeline_id


def test_tickets_are_shared_by_the_agents(company):
    assignees = Counter(m.Ticket.objects.exclude(assignee=None).values_list("assignee", flat=True))
    assert len(assignees) >= SUPPORT_AGENTS
    assert max(assignees.values()) <= 0.3 * sum(assignees.values())


def test_every_colleague_logs_in(company):
    users = set(m.LoginEvent.objects.values_list("user", flat=True).distinct())
    staff = _role_members(Role.SALES_REP) | _role_members(Role.SUPPORT_AGENT)
    assert staff <= users
