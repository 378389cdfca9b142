"""Who sees what on the lead, contact and company pages (rule in crm/access.py): a rep sees
their own and their team's records, a manager their team's, an admin everything; a record of
another team answers 404 on every page and is never touched by a bulk action."""

import pytest
from django.urls import reverse

from crm.models import Company, Contact, Lead, LeadStatus
from tests.crm.factories import CompanyFactory, ContactFactory, LeadFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FACTORIES = {"lead": LeadFactory, "contact": ContactFactory, "company": CompanyFactory}
LISTS = {"lead": "/leads/", "contact": "/contacts/", "company": "/companies/"}
GET_PAGES = {
    "lead": ["lead-detail", "lead-edit", "lead-convert"],
    "contact": ["contact-detail", "contact-edit"],
    "company": ["company-detail", "company-edit"],
}


@pytest.fixture
def records(rep, teammate, outsider, sales_team, other_team):
    """For each kind: ana's own, marco's (same team, no team set), olga's (other team)."""
    made = {}
    for kind, factory in FACTORIES.items():
        extra = {"company": None} if kind == "contact" else {}
        made[kind] = {
            "own": factory(owner=rep, team=sales_team, **extra),
            "teammate": factory(owner=teammate, team=None, **extra),
            "other": factory(owner=outsider, team=other_team, **extra),
        }
    return made


def listed(client, kind) -> set[int]:
    response = client.get(LISTS[kind])
    assert response.status_code == 200
    return {row["record"].pk for row in response.context["rows"]}


@pytest.mark.parametrize("kind", FACTORIES)
def test_rep_lists_own_and_team_records_only(client, rep, records, kind):
    client.force_login(rep)

    mine = records[kind]

    assert listed(client, kind) == {mine["own"].pk, mine["teammate"].pk}


@pytest.mark.parametrize("kind", FACTORIES)
def test_manager_lists_the_team_records(client, manager, records, kind):
    client.force_login(manager)

    mine = records[kind]

    assert listed(client, kind) == {mine["own"].pk, mine["teammate"].pk}


@pytest.mark.parametrize("kind", FACTORIES)
def test_admin_lists_everything(client, admin_user, records, kind):
    client.force_login(admin_user)

    assert listed(client, kind) == {record.pk for record in records[kind].values()}


@pytest.mark.parametrize("kind", FACTORIES)
def test_outsider_sees_only_their_team(client, outsider, records, kind):
    client.force_login(outsider)

    assert listed(client, kind) == {records[kind]["other"].pk}


def page_cases():
    for kind, names in GET_PAGES.items():
        for name in names:
            yield kind, name


@pytest.mark.parametrize(("kind", "name"), list(page_cases()))
def test_rep_gets_404_for_another_teams_record_on_every_page(client, rep, records, kind, name):
    client.force_login(rep)

    other = records[kind]["other"]
    mine = records[kind]["teammate"]

    assert client.get(reverse(name, args=[other.pk])).status_code == 404
    assert client.get(reverse(name, args=[mine.pk])).status_code == 200


@pytest.mark.parametrize(("kind", "name"), list(page_cases()))
def test_manager_and_admin_open_pages(client, manager, admin_user, records, kind, name):
    client.force_login(manager)
    assert client.get(reverse(name, args=[records[kind]["own"].pk])).status_code == 200
    assert client.get(reverse(name, args=[records[kind]["other"].pk])).status_code == 404

    client.force_login(admin_user)
    assert client.get(reverse(name, args=[records[kind]["other"].pk])).status_code == 200


@pytest.mark.parametrize("kind", FACTORIES)
def test_rep_cannot_edit_another_teams_record_by_post(client, rep, records, kind):
    client.force_login(rep)
    other = records[kind]["other"]
    before = type(other).objects.get(pk=other.pk).updated_at

    response = client.post(reverse(f"{kind}-edit", args=[other.pk]), {"name": "Hacked"})

    assert response.status_code == 404
    assert type(other).objects.get(pk=other.pk).updated_at == before


@pytest.mark.parametrize("action", ["lead-qualify", "lead-disqualify", "lead-convert"])
def test_lead_actions_on_another_teams_lead_answer_404_and_change_nothing(
    client, rep, records, action
):
    client.force_login(rep)
    other = records["lead"]["other"]

    response = client.post(reverse(action, args=[other.pk]), {"reason": "x"})

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == LeadStatus.NEW


def test_lead_bulk_actions_never_touch_invisible_leads(client, rep, teammate, records):
    client.force_login(rep)
    leads = records["lead"]
    ids = [lead.pk for lead in leads.values()]

    client.post(reverse("lead-bulk"), {"ids": ids, "action": "assign_owner", "owner": teammate.pk})
    client.post(
        reverse("lead-bulk"), {"ids": ids, "action": "change_status", "status": "qualified"}
    )

    for key in ("own", "teammate"):
        lead = Lead.objects.get(pk=leads[key].pk)
        assert (lead.owner, lead.status) == (teammate, LeadStatus.QUALIFIED)
    other = Lead.objects.get(pk=leads["other"].pk)
    assert (other.owner, other.status) == (leads["other"].owner, LeadStatus.NEW)


@pytest.mark.parametrize(("kind", "model"), [("contact", Contact), ("company", Company)])
def test_owner_bulk_actions_never_touch_invisible_records(
    client, rep, teammate, records, kind, model
):
    client.force_login(rep)
    mine = records[kind]

    client.post(
        reverse(f"{kind}-bulk"),
        {"ids": [r.pk for r in mine.values()], "action": "assign_owner", "owner": teammate.pk},
    )

    assert model.objects.get(pk=mine["own"].pk).owner == teammate
    assert model.objects.get(pk=mine["other"].pk).owner == mine["other"].owner


def test_bulk_with_only_invisible_ids_changes_nothing(client, rep, teammate, records):
    client.force_login(rep)
    other = records["lead"]["other"]

    response = client.post(
        reverse("lead-bulk"),
        {"ids": [other.pk], "action": "assign_owner", "owner": teammate.pk},
        follow=True,
    )

    assert response.status_code == 200
    assert Lead.objects.get(pk=other.pk).owner == other.owner


def test_rep_cannot_give_a_record_to_someone_outside_their_teams(client, rep, outsider, records):
    client.force_login(rep)
    own = records["lead"]["own"]

    client.post(
        reverse("lead-bulk"), {"ids": [own.pk], "action": "assign_owner", "owner": outsider.pk}
    )

    assert Lead.objects.get(pk=own.pk).owner == rep


def test_admin_bulk_reaches_every_team(client, admin_user, outsider, records):
    client.force_login(admin_user)
    own = records["contact"]["own"]

    client.post(
        reverse("contact-bulk"), {"ids": [own.pk], "action": "assign_owner", "owner": outsider.pk}
    )

    assert Contact.objects.get(pk=own.pk).owner == outsider


def test_a_role_without_change_permission_gets_403(client, agent):
    client.force_login(agent)
    company = CompanyFactory(owner=agent)

    assert client.get(reverse("company-detail", args=[company.pk])).status_code == 200
    assert client.get(reverse("company-edit", args=[company.pk])).status_code == 403
    assert client.get(reverse("company-create")).status_code == 403
    response = client.post(
        reverse("company-bulk"), {"ids": [company.pk], "action": "assign_owner", "owner": agent.pk}
    )
    assert response.status_code == 403


def test_user_without_a_team_sees_only_their_own(client, records):
    loner = UserFactory(username="lone", role="Sales rep")
    mine = LeadFactory(owner=loner)
    client.force_login(loner)

    assert listed(client, "lead") == {mine.pk}
