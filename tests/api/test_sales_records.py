"""The sales records through the API: CRUD per role, other teams' records, transitions and
custom fields."""

import pytest

from crm.models import (
    Company,
    Deal,
    DealStageChange,
    Event,
    FieldType,
    Lead,
    LeadStatus,
    Pipeline,
    RecordType,
    Stage,
    StageOutcome,
)
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    stage_named,
)

pytestmark = pytest.mark.django_db


def as_user(api, user):
    api.force_authenticate(user)
    return api


# --- CRUD per role -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "list_", "create", "update", "delete"),
    [
        ("rep", 200, 201, 200, 403),
        ("manager", 200, 201, 200, 403),
        ("agent", 200, 403, 403, 403),
        ("admin_user", 200, 201, 200, 204),
    ],
)
def test_companies_crud_per_role(api, request, sales_team, persona, list_, create, update, delete):
    user = request.getfixturevalue(persona)
    if persona == "agent":
        sales_team.members.add(user)
    company = CompanyFactory(owner=request.getfixturevalue("rep"), team=sales_team)
    as_user(api, user)
    assert api.get("/api/companies/").status_code == list_
    assert api.post("/api/companies/", {"name": "New"}, format="json").status_code == create
    url = f"/api/companies/{company.pk}/"
    assert api.patch(url, {"name": "Renamed"}, format="json").status_code == update
    assert api.delete(url).status_code == delete
    assert Company.objects.filter(pk=company.pk).exists() == (delete != 204)


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [("rep", 200, 201), ("manager", 200, 201), ("agent", 403, 403), ("admin_user", 200, 201)],
)
def test_leads_and_deals_per_role(api, request, sales_team, persona, read, write):
    as_user(api, request.getfixturevalue(persona))
    assert api.get("/api/leads/").status_code == read
    assert api.get("/api/deals/").status_code == read
    assert api.post("/api/leads/", {"name": "Lee"}, format="json").status_code == write
    assert api.post("/api/deals/", {"name": "Big"}, format="json").status_code == write
    assert Lead.objects.filter(name="Lee").count() == (write == 201)


def test_an_agent_adds_contacts_and_reads_pipelines(api, agent):
    as_user(api, agent)
    response = api.post("/api/contacts/", {"last_name": "Doe"}, format="json")
    assert response.status_code == 201 and response.json()["owner"] == agent.pk
    assert api.get("/api/pipelines/").status_code == 200
    assert api.get("/api/stages/?page_size=3").json()["results"]
    assert api.post("/api/pipelines/", {"name": "X"}, format="json").status_code == 405


def test_a_created_deal_starts_in_the_stage_given_and_records_it(api, rep, sales_team):
    as_user(api, rep)
    stage = stage_named("Proposal")
    response = api.post("/api/deals/", {"name": "Big", "stage": stage.pk}, format="json")
    assert response.status_code == 201, response.json()
    deal = Deal.objects.get(pk=response.json()["id"])
    assert deal.stage == stage and deal.owner == rep and deal.team == sales_team
    assert Event.objects.filter(type="deal.created", record_id=deal.pk).exists()
    detail = api.get(f"/api/deals/{deal.pk}/").json()
    assert [row["to_stage"] for row in detail["stage_history"]] == [stage.pk]


# --- Another team's records ----------------------------------------------------------------

ROUTES = [
    ("get", "/api/{kind}/{pk}/", None),
    ("patch", "/api/{kind}/{pk}/", {"name": "Mine now"}),
    ("put", "/api/{kind}/{pk}/", {"name": "Mine now", "last_name": "Mine"}),
    ("delete", "/api/{kind}/{pk}/", None),
]
ACTIONS = {
    "deals": [("move", {"stage": "Proposal"})],
    "leads": [("qualify", {}), ("disqualify", {"reason": "No"}), ("convert", {})],
}


@pytest.mark.parametrize("kind", ["companies", "contacts", "leads", "deals"])
def test_a_rep_gets_404_for_another_teams_record_on_every_route(
    api, rep, sales_team, outsider, other_team, kind
):
    factory = {
        "companies": CompanyFactory,
        "contacts": ContactFactory,
        "leads": LeadFactory,
        "deals": DealFactory,
    }[kind]
    record = factory(owner=outsider, team=other_team)
    as_user(api, rep)
    events = Event.objects.count()
    calls = [(m, u.format(kind=kind, pk=record.pk), b) for m, u, b in ROUTES]
    for name, body in ACTIONS.get(kind, []):
        if "stage" in body:
            body = {"stage": stage_named(body["stage"]).pk}
        calls.append(("post", f"/api/{kind}/{record.pk}/{name}/", body))
    for method, url, body in calls:
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
    assert api.get(f"/api/{kind}/").json()["results"] == []
    assert Event.objects.count() == events
    record.refresh_from_db()
    assert record.owner == outsider


# --- Transitions ---------------------------------------------------------------------------


@pytest.fixture
def deal(rep, sales_team):
    return DealFactory(owner=rep, team=sales_team)


def test_moving_a_deal_records_its_history(api, rep, deal):
    as_user(api, rep)
    response = api.post(
        f"/api/deals/{deal.pk}/move/", {"stage": stage_named("Proposal").pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["stage"] == stage_named("Proposal").pk
    assert len(response.json()["stage_history"]) == 1  # the factory wrote no first row
    lost = api.post(
        f"/api/deals/{deal.pk}/move/",
        {"stage": stage_named("Lost").pk, "lost_reason": "Price"},
        format="json",
    )
    assert lost.json()["status"] == "lost" and lost.json()["lost_reason"] == "Price"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"stage": "Lost"}, "lost_reason", "Say why the deal was lost."),
        ({"stage": "first"}, "stage", "The deal is already in"),
        ({"stage": "other pipeline"}, "stage", "is not a stage of the pipeline"),
        ({"stage": 10**30}, "stage", ""),
        ({"stage": "nonsense"}, "stage", ""),
    ],
)
def test_a_refused_move_answers_the_services_message_and_writes_nothing(
    api, rep, deal, body, field, message
):
    if body["stage"] == "first":
        body = {"stage": deal.stage_id}
    elif body["stage"] == "other pipeline":
        other = Pipeline.objects.create(name="Partners")
        body = {"stage": Stage.objects.create(pipeline=other, name="Intro", order=1).pk}
    elif body["stage"] == "Lost":
        body = {"stage": stage_named("Lost").pk}
    as_user(api, rep)
    changes, events = DealStageChange.objects.count(), Event.objects.count()
    response = api.post(f"/api/deals/{deal.pk}/move/", body, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"][field])
    assert (DealStageChange.objects.count(), Event.objects.count()) == (changes, events)
    deal.refresh_from_db()
    assert deal.stage.outcome == StageOutcome.OPEN


def test_plain_patch_never_sets_a_deals_stage_or_a_leads_status(api, rep, sales_team, deal):
    lead = LeadFactory(owner=rep, team=sales_team)
    as_user(api, rep)
    for url, body in (
        (f"/api/deals/{deal.pk}/", {"stage": stage_named("Won").pk}),
        (f"/api/deals/{deal.pk}/", {"status": "won"}),
        (f"/api/leads/{lead.pk}/", {"status": "qualified"}),
    ):
        response = api.patch(url, body, format="json")
        assert response.status_code == 400
        assert "POST" in response.json()["errors"][next(iter(body))][0]
    deal.refresh_from_db()
    lead.refresh_from_db()
    assert deal.status == "open" and lead.status == LeadStatus.NEW


def test_qualifying_disqualifying_and_converting_a_lead(api, rep, sales_team):
    lead = LeadFactory(owner=rep, team=sales_team, email="pat@acme.example")
    as_user(api, rep)
    url = f"/api/leads/{lead.pk}"
    assert api.post(f"{url}/qualify/").json()["status"] == LeadStatus.QUALIFIED
    again = api.post(f"{url}/qualify/")
    assert again.status_code == 400 and "already qualified" in again.json()["detail"]
    assert api.post(f"{url}/disqualify/", {}, format="json").status_code == 400
    blank = api.post(f"{url}/disqualify/", {"reason": "   "}, format="json")
    assert blank.status_code == 400
    response = api.post(f"{url}/convert/", {"amount": "250.00"}, format="json")
    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_deal.amount == 250 and lead.converted_contact.email == lead.email
    events = Event.objects.count()
    refused = api.post(f"{url}/convert/", {}, format="json")
    assert refused.status_code == 400 and "cannot be converted" in refused.json()["detail"]
    assert api.post(f"{url}/disqualify/", {"reason": "Gone"}, format="json").status_code == 400
    assert Event.objects.count() == events


def test_converting_links_a_visible_match_never_a_hidden_one(
    api, rep, sales_team, outsider, other_team
):
    hidden = ContactFactory(owner=outsider, team=other_team, email="pat@acme.example")
    lead = LeadFactory(owner=rep, team=sales_team, email="pat@acme.example", company_name="")
    as_user(api, rep)
    response = api.post(f"/api/leads/{lead.pk}/convert/", {"create_deal": False}, format="json")
    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert lead.converted_contact != hidden and lead.converted_contact.owner == rep


def test_a_rep_cannot_link_another_teams_records(api, rep, sales_team, outsider, other_team):
    theirs = CompanyFactory(owner=outsider, team=other_team)
    as_user(api, rep)
    response = api.post("/api/deals/", {"name": "X", "company": theirs.pk}, format="json")
    assert response.status_code == 400 and "company" in response.json()["errors"]
    response = api.post("/api/deals/", {"name": "X", "owner": outsider.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.json()["errors"]
    assert not Deal.objects.exists()


# --- Custom fields -------------------------------------------------------------------------


@pytest.fixture
def fields(db):
    return {
        "seats": CustomFieldFactory(
            record_type=RecordType.DEAL, key="seats", field_type=FieldType.NUMBER
        ),
        "tier": CustomFieldFactory(
            record_type=RecordType.DEAL,
            key="tier",
            field_type=FieldType.SELECT,
            choices=["gold", "silver"],
        ),
    }


def test_custom_fields_are_read_written_and_validated_as_one_object(api, rep, deal, fields):
    as_user(api, rep)
    url = f"/api/deals/{deal.pk}/"
    response = api.patch(url, {"custom": {"seats": "12", "tier": "gold"}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["custom"] == {"seats": 12, "tier": "gold"}
    assert api.get(url).json()["custom"] == {"seats": 12, "tier": "gold"}
    events = Event.objects.count()
    for bad in ({"tier": "bronze"}, {"seats": "many"}, {"nope": 1}, ["seats"]):
        refused = api.patch(url, {"custom": bad}, format="json")
        assert refused.status_code == 400, bad
        assert "custom" in refused.json()["errors"]
    deal.refresh_from_db()
    assert deal.custom == {"seats": 12, "tier": "gold"} and Event.objects.count() == events


def test_a_required_custom_field_is_asked_for_on_create(api, rep, sales_team, fields):
    fields["tier"].required = True
    fields["tier"].save()
    as_user(api, rep)
    refused = api.post("/api/deals/", {"name": "X"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["custom"] == {"tier": ["This field is required."]}
    ok = api.post("/api/deals/", {"name": "X", "custom": {"tier": "silver"}}, format="json")
    assert ok.status_code == 201


def test_custom_fields_filter_by_value_and_range(api, rep, sales_team, fields):
    for seats, tier in ((5, "gold"), (20, "silver"), (50, "gold")):
        DealFactory(
            owner=rep, team=sales_team, name=f"{seats}", custom={"seats": seats, "tier": tier}
        )
    as_user(api, rep)

    def names(query):
        response = api.get(f"/api/deals/?{query}&ordering=id")
        assert response.status_code == 200, response.json()
        return [row["name"] for row in response.json()["results"]]

    assert names("cf_tier=gold") == ["5", "50"]
    assert names("cf_seats__gte=10") == ["20", "50"]
    assert names("cf_seats__gte=10&cf_seats__lte=30") == ["20"]
    assert names("cf_seats=50") == ["50"]
    bad = api.get("/api/deals/?cf_seats__gte=lots")
    assert bad.status_code == 400 and "cf_seats__gte" in bad.json()["errors"]
