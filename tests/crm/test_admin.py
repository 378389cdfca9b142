"""The admin: every record is browsable, and fields only services may change stay read-only."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.urls import reverse

from crm import models as m
from crm import services
from tests.crm import factories as f
from tests.factories import TeamFactory, UserFactory

CRM_MODELS = list(apps.get_app_config("crm").get_models())
# Rows only services write: the admin shows them and refuses to add, change or delete.
READ_ONLY_MODELS = {
    m.Event,
    m.DealStageChange,
    m.TicketMessage,
    m.SurveyInvitation,
    m.Notification,
    m.DedupeKey,
}


def url(model, view, *args):
    return reverse(f"admin:crm_{model._meta.model_name}_{view}", args=args)


class AdminFormParser(HTMLParser):
    """Collects what a browser would submit from the admin's main form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select = None
        self._textarea = None
        self._text: list[str] = []

    def add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "form":
            self._in_form = (attrs.get("id") or "").endswith("_form")
        elif not self._in_form:
            return
        elif tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.add(name, attrs.get("value") or "on")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.add(name, attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.add(self._select, attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # Browsers drop the newline Django puts after <textarea>.
            self.add(self._textarea, "".join(self._text).removeprefix("\n"))
            self._textarea = None


def form_data(response) -> dict[str, list[str]]:
    parser = AdminFormParser()
    parser.feed(response.content.decode())
    return parser.data


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def rows(admin_user, rep, agent):
    """A few rows of every model, linked the way the CRM links them."""
    team = TeamFactory(name="Sales", manager=admin_user, members=[rep])
    partners = m.Pipeline.objects.create(name="Partners")
    m.Stage.objects.create(pipeline=partners, name="Intro", probability=10)
    companies = f.CompanyFactory.create_batch(3, owner=rep, team=team)
    contacts = [f.ContactFactory(company=company) for company in companies]
    leads = f.LeadFactory.create_batch(2, owner=rep)
    deals = [f.DealFactory(company=company, owner=rep) for company in companies]
    for deal in deals:
        m.DealStageChange.objects.create(deal=deal, to_stage=deal.stage, changed_by=rep)
    m.Activity.objects.create(kind=m.ActivityKind.CALL, subject="Intro", company=companies[0])
    m.Activity.objects.create(kind=m.ActivityKind.NOTE, subject="Budget", deal=deals[0], user=rep)
    parent = f.TaskFactory(assignee=rep, deal=deals[0])
    f.TaskFactory(parent=parent, assignee=rep)
    tickets = [f.TicketFactory(contact=contact, assignee=agent) for contact in contacts[:2]]
    m.TicketMessage.objects.create(
        ticket=tickets[0], author_kind=m.MessageAuthor.CUSTOMER, body="It broke"
    )
    m.TicketMessage.objects.create(
        ticket=tickets[0], author_kind=m.MessageAuthor.AGENT, author=agent, body="On it"
    )
    f.SurveyAnswerFactory(contact=contacts[0])
    f.SurveyAnswerFactory(contact=contacts[1], kind=m.SurveyKind.CSAT, score=4)
    f.SubscriptionFactory.create_batch(2, company=companies[0])
    f.ExpenseFactory.create_batch(2)
    f.CustomFieldFactory.create_batch(2)
    m.Event.objects.create(type="deal.created", record_type="deal", record_id=deals[0].pk)
    m.Event.objects.create(type="lead.created", record_type="lead", record_id=leads[0].pk)
    m.LoginEvent.objects.create(user=rep)
    services.notify(recipients=[rep, agent], title="Goal reached 50 %", kind="goal")
    # Support desk: knowledge base and survey invitations.
    category = services.category_create(actor=admin_user, name="Billing")
    services.article_create(
        actor=admin_user, data={"title": "Invoices", "body": "Text", "category": category}
    )
    services.survey_invite(kind=m.SurveyKind.CSAT, ticket=tickets[0])
    m.DedupeKey.objects.create(scope="contact-email", key="x@example.com", object_id=contacts[0].pk)
    services.support_settings_update(actor=admin_user, default_team=team)
    return {"companies": companies, "contacts": contacts, "leads": leads, "deals": deals}


def test_every_crm_model_is_registered():
    missing = [model.__name__ for model in CRM_MODELS if not admin.site.is_registered(model)]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", CRM_MODELS, ids=lambda model: model._meta.model_name)
def test_changelist_lists_searches_and_filters(staff_client, rows, model):
    model_admin = admin.site.get_model_admin(model)
    assert model_admin.search_fields and model_admin.list_filter

    response = staff_client.get(url(model, "changelist"))
    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.result_count == model.objects.count() > 0

    assert staff_client.get(url(model, "changelist"), {"q": "x"}).status_code == 200

    # The first filter with something to choose, choosing its first option after "All".
    spec = next(spec for spec in changelist.filter_specs if len(list(spec.choices(changelist))) > 1)
    query_string = list(spec.choices(changelist))[1]["query_string"]
    response = staff_client.get(url(model, "changelist") + query_string)
    assert response.status_code == 200
    assert response.context["cl"].has_active_filters


@pytest.mark.django_db
@pytest.mark.parametrize("model", CRM_MODELS, ids=lambda model: model._meta.model_name)
def test_add_page_opens_except_for_rows_only_services_write(staff_client, model):
    response = staff_client.get(url(model, "add"))

    assert response.status_code == (403 if model in READ_ONLY_MODELS else 200)


@pytest.mark.django_db
@pytest.mark.parametrize("model", sorted(READ_ONLY_MODELS, key=lambda model: model.__name__))
def test_rows_only_services_write_can_be_viewed_but_not_changed(staff_client, rows, model):
    row = model.objects.first()
    before = list(model.objects.values())

    assert staff_client.get(url(model, "change", row.pk)).status_code == 200
    assert staff_client.post(url(model, "change", row.pk), {}).status_code == 403
    assert staff_client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert list(model.objects.values()) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "make_row"),
    [(m.Deal, f.DealFactory), (m.Ticket, f.TicketFactory)],
    ids=["deal", "ticket"],
)
def test_changelist_queries_do_not_grow_with_rows(
    staff_client, django_assert_max_num_queries, model, make_row
):
    owners = UserFactory.create_batch(4)
    for index in range(20):
        owner = owners[index % 4]
        make_row(**({"owner": owner} if model is m.Deal else {"assignee": owner}))

    # Session, user, counts, filter choices, dates: a fixed number whatever the row count.
    with django_assert_max_num_queries(15):
        response = staff_client.get(url(model, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 20


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/", "/admin/crm/deal/"])
def test_a_rep_is_sent_to_the_login_page(client, rep, path):
    client.force_login(rep)

    response = client.get(path)

    assert response.status_code == 302
    assert response.url.startswith(("/admin/login/", "/accounts/login/"))


def tampered_value(obj, field) -> dict[str, str]:
    """A different, valid-looking value for the field, as the admin form would post it."""
    if isinstance(field, models.DateTimeField):
        return {f"{field.name}_0": "2001-02-03", f"{field.name}_1": "04:05:06"}
    if isinstance(field, models.ForeignKey):
        other = field.related_model.objects.exclude(pk=field.value_from_object(obj)).first()
        return {field.name: str(other.pk)}
    if field.choices:
        current = field.value_from_object(obj)
        return {field.name: next(value for value, _ in field.choices if value != current)}
    if isinstance(field, models.IntegerField):
        return {field.name: "7"}
    return {field.name: "tampered"}


SERVICE_ONLY_FIELDS = {
    m.Deal: ["status", "pipeline", "stage", "closed_at", "lost_reason", "stage_entered_at"],
    m.Lead: [
        "status",
        "first_response_at",
        "qualified_at",
        "disqualified_reason",
        "converted_at",
        "converted_contact",
        "converted_company",
        "converted_deal",
    ],
    m.Ticket: [
        "status",
        "first_response_at",
        "resolved_at",
        "reopen_count",
        "agent_reply_count",
        "first_response_due_at",
        "resolution_due_at",
        "sla_breached_at",
    ],
    m.Company: ["lifecycle", "customer_since", "churned_at"],
    m.Subscription: ["status", "cancelled_at", "renewal_of"],
}
# An editable field per model, to show the tampered form was saved and not refused.
EDITABLE_FIELD = {
    m.Deal: "name",
    m.Lead: "name",
    m.Ticket: "subject",
    m.Company: "name",
    m.Subscription: "plan_name",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model", list(SERVICE_ONLY_FIELDS), ids=lambda model: model._meta.model_name
)
def test_fields_only_services_change_are_read_only(staff_client, rows, model):
    obj = model.objects.order_by("pk").first()
    fields = [model._meta.get_field(name) for name in SERVICE_ONLY_FIELDS[model]]
    before = {field.name: field.value_from_object(obj) for field in fields}
    change_url = url(model, "change", obj.pk)

    response = staff_client.get(change_url)
    assert response.status_code == 200
    assert not set(before) & set(response.context["adminform"].form.fields)

    data = form_data(response)
    for field in fields:
        data.update({name: [value] for name, value in tampered_value(obj, field).items()})
    data[EDITABLE_FIELD[model]] = ["Renamed"]
    response = staff_client.post(change_url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    obj.refresh_from_db()
    assert getattr(obj, EDITABLE_FIELD[model]) == "Renamed"
    assert {field.name: field.value_from_object(obj) for field in fields} == before


@pytest.mark.django_db
def test_a_subscriptions_renewal_date_is_edited_in_the_admin(staff_client, rows):
    subscription = m.Subscription.objects.order_by("pk").first()
    change_url = url(m.Subscription, "change", subscription.pk)
    data = form_data(staff_client.get(change_url))

    data["term_end"] = [(subscription.start_date - timedelta(days=1)).isoformat()]
    refused = staff_client.post(change_url, data)
    assert refused.status_code == 200
    assert "The term end must come after the start date." in refused.content.decode()
    subscription.refresh_from_db()
    assert subscription.term_end is None

    data["term_end"] = [(subscription.start_date + timedelta(days=365)).isoformat()]
    assert staff_client.post(change_url, data).status_code == 302
    subscription.refresh_from_db()
    assert subscription.term_end == subscription.start_date + timedelta(days=365)
    assert "term_end" in admin.site._registry[m.Subscription].list_display


@pytest.mark.django_db
def test_a_new_deal_picks_its_pipeline_and_open_stage(staff_client, rows):
    response = staff_client.get(url(m.Deal, "add"))
    form = response.context["adminform"].form

    assert {"pipeline", "stage"} <= set(form.fields)
    assert not {"status", "closed_at", "lost_reason", "stage_entered_at"} & set(form.fields)
    outcomes = {stage.outcome for stage in form.fields["stage"].queryset}
    assert outcomes == {m.StageOutcome.OPEN}


@pytest.mark.django_db
def test_a_new_deal_in_a_stage_of_another_pipeline_is_refused(staff_client, rows):
    other_stage = m.Stage.objects.get(pipeline__name="Partners", name="Intro")
    count = m.Deal.objects.count()
    data = form_data(staff_client.get(url(m.Deal, "add")))
    data.update(
        name=["Misfiled"],
        pipeline=[str(f.default_pipeline().pk)],
        stage=[str(other_stage.pk)],
    )

    response = staff_client.post(url(m.Deal, "add"), data)

    assert response.status_code == 200
    assert "stage" in response.context["adminform"].form.errors
    assert m.Deal.objects.count() == count


@pytest.mark.django_db
def test_a_new_deal_starts_open_in_the_chosen_stage(staff_client, rows):
    stage = f.stage_named("Qualification")
    data = form_data(staff_client.get(url(m.Deal, "add")))
    data.update(name=["Fresh"], pipeline=[str(stage.pipeline_id)], stage=[str(stage.pk)])

    response = staff_client.post(url(m.Deal, "add"), data)

    assert response.status_code == 302
    deal = m.Deal.objects.get(name="Fresh")
    assert (deal.stage, deal.status, deal.closed_at) == (stage, m.DealStatus.OPEN, None)


@pytest.mark.django_db
def test_configuration_is_fully_editable(staff_client):
    pipeline = f.default_pipeline()
    response = staff_client.get(url(m.Pipeline, "change", pipeline.pk))
    data = form_data(response)
    stage_names = [key for key in data if key.startswith("stages-") and key.endswith("-name")]
    data[stage_names[0]] = ["Discovery"]

    response = staff_client.post(url(m.Pipeline, "change", pipeline.pk), data)

    assert response.status_code == 302
    assert pipeline.stages.filter(name="Discovery").exists()


@pytest.mark.django_db
def test_admin_changes_go_through_the_services_and_leave_events(staff_client, rows):
    stage = f.stage_named("Qualification")
    data = form_data(staff_client.get(url(m.Deal, "add")))
    data.update(name=["Evented"], pipeline=[str(stage.pipeline_id)], stage=[str(stage.pk)])
    staff_client.post(url(m.Deal, "add"), data)
    deal = m.Deal.objects.get(name="Evented")

    assert deal.stage_changes.get().to_stage == stage
    change_url = url(m.Deal, "change", deal.pk)
    data = form_data(staff_client.get(change_url))
    data["amount"] = ["4321.00"]
    assert staff_client.post(change_url, data).status_code == 302

    events = m.Event.objects.filter(record_type="deal", record_id=deal.pk)
    assert list(events.values_list("type", flat=True)) == ["deal.created", "deal.updated"]
    assert events.last().changes == {"amount": ["0.00", "4321.00"]}


@pytest.mark.django_db
def test_a_ticket_priority_changed_in_the_admin_moves_its_due_times(staff_client, rows):
    from datetime import timedelta

    from crm import services

    ticket = services.ticket_create(actor=None, data={"subject": "Slow", "priority": "low"})
    change_url = url(m.Ticket, "change", ticket.pk)
    data = form_data(staff_client.get(change_url))
    data["priority"] = ["urgent"]

    assert staff_client.post(change_url, data).status_code == 302
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=4)


@pytest.mark.django_db
def test_invalid_custom_values_are_a_form_error_not_a_crash(staff_client, rows):
    f.CustomFieldFactory(record_type="company", key="tier", field_type="select", choices=["A", "B"])
    company = m.Company.objects.first()
    change_url = url(m.Company, "change", company.pk)
    data = form_data(staff_client.get(change_url))
    data["custom"] = ['{"tier": "Z"}']

    response = staff_client.post(change_url, data)

    assert response.status_code == 200
    assert "custom" in response.context["adminform"].form.errors
    company.refresh_from_db()
    assert company.custom.get("tier") is None


@pytest.mark.django_db
def test_a_custom_field_is_added_changed_and_deleted_through_the_services(staff_client, rows):
    data = form_data(staff_client.get(url(m.CustomField, "add")))
    data.update(
        record_type=["deal"], key=["region_code"], label=["Region code"], field_type=["text"]
    )
    assert staff_client.post(url(m.CustomField, "add"), data).status_code == 302
    field = m.CustomField.objects.get(key="region_code")

    change_url = url(m.CustomField, "change", field.pk)
    changed = form_data(staff_client.get(change_url))
    # Its type and key are fixed once it exists: shown, not editable.
    assert "key" not in changed and "field_type" not in changed
    changed["label"] = ["Sales region"]
    assert staff_client.post(change_url, changed).status_code == 302
    field.refresh_from_db()
    assert field.label == "Sales region"

    delete = staff_client.post(url(m.CustomField, "delete", field.pk), {"post": "yes"})
    assert delete.status_code == 302
    assert not m.CustomField.objects.filter(pk=field.pk).exists()
    events = m.Event.objects.filter(record_type="customfield", record_id=field.pk)
    assert sorted(events.values_list("type", flat=True)) == [
        "customfield.created",
        "customfield.deleted",
        "customfield.updated",
    ]


def test_the_subscriptions_plan_filter_lists_each_plan_once_and_filters(staff_client):
    """The plan and currency filters list their values by walking their index, each once, in
    order, and choosing one filters the list as Django's own filter does."""
    for plan in ("Pro", "Basic", "Pro", "Enterprise", "Basic"):
        f.SubscriptionFactory(plan_name=plan, company=f.CompanyFactory(name=f"Co {plan}"))
    f.SubscriptionFactory(plan_name="Pro", currency="USD")

    page = staff_client.get(url(m.Subscription, "changelist")).content.decode()

    for plan in ("Basic", "Enterprise", "Pro"):
        assert page.count(f"?plan_name={plan}") == 1
    assert page.index("?plan_name=Basic") < page.index("?plan_name=Enterprise")
    assert page.count("?currency=USD") == 1
    chosen = staff_client.get(url(m.Subscription, "changelist"), {"plan_name": "Basic"})
    assert chosen.context["cl"].result_count == 2
