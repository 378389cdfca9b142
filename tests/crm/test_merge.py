"""Merging two records: every row that pointed at the removed one moves to the survivor, the
chosen values win, both records' history ends on the survivor, claims follow, and only people
who may change (and delete) both records merge them."""

import threading
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import (
    Activity,
    Company,
    Contact,
    DedupeKey,
    Event,
    FieldType,
    Lead,
    LeadStatus,
    RecordType,
    User,
)
from crm.services.dedupe import CONTACT_EMAIL, contact_once
from crm.services.merge import KEEP, REMOVE, record_merge
from metrics.models import CompanyHealth
from tests.crm.factories import (
    CompanyFactory,
    ContactFactory,
    CustomFieldFactory,
    DealFactory,
    LeadFactory,
    SubscriptionFactory,
    SurveyAnswerFactory,
    TaskFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db


def pointing_at(record) -> dict[str, int]:
    """Rows of every model that point at `record` by a foreign key (hidden ones included),
    found on the model as the service finds them: a model added later is checked too."""
    found = {}
    for relation in type(record)._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        count = relation.related_model._base_manager.filter(
            **{relation.field.attname: record.pk}
        ).count()
        if count:
            label = f"{relation.related_model._meta.label}.{relation.field.name}"
            found[label] = found.get(label, 0) + count
    return found


def events_of(record) -> list[str]:
    return list(
        Event.objects.filter(record_type=record._meta.model_name, record_id=record.pk)
        .order_by("id")
        .values_list("type", flat=True)
    )


def converted_lead(**links) -> Lead:
    return LeadFactory(status=LeadStatus.CONVERTED, converted_at=timezone.now(), **links)


@pytest.fixture
def contacts(rep, sales_team):
    owned = {"owner": rep, "team": sales_team}
    keep = services.record_create(
        Contact,
        actor=rep,
        data={"first_name": "Ana", "last_name": "Lima", "email": "ana@acme.example", **owned},
    )
    remove = services.record_create(
        Contact,
        actor=rep,
        data={
            "first_name": "Ana",
            "last_name": "Lima Souza",
            "email": "ana.lima@acme.example",
            "phone": "+55 11 91234 5678",
            **owned,
        },
    )
    return keep, remove


def test_merging_contacts_moves_every_related_row_and_leaves_nothing_on_the_removed_one(
    contacts, rep
):
    keep, remove = contacts
    company = CompanyFactory()
    deal = DealFactory(contact=remove, company=company)
    services.activity_log(actor=rep, kind="call", subject="Called the duplicate", contact=remove)
    task = TaskFactory(contact=remove)
    ticket = TicketFactory(contact=remove, company=company)
    answer = SurveyAnswerFactory(contact=remove, company=company)
    invitation = services.survey_invite(kind="nps", contact=remove)
    lead = converted_lead(converted_contact=remove)
    before = pointing_at(remove)
    assert set(before) >= {
        "crm.Activity.contact",
        "crm.Deal.contact",
        "crm.Task.contact",
        "crm.Ticket.contact",
        "crm.SurveyAnswer.contact",
        "crm.SurveyInvitation.contact",
        "crm.Lead.converted_contact",
    }

    record_merge(keep=keep, remove=remove, choices={}, actor=rep)

    assert not Contact.objects.filter(pk=remove.pk).exists()
    assert pointing_at(remove) == {}
    for row in (deal, task, ticket, answer, invitation, lead):
        row.refresh_from_db()
    assert deal.contact_id == task.contact_id == ticket.contact_id == keep.pk
    assert answer.contact_id == invitation.contact_id == lead.converted_contact_id == keep.pk
    assert Activity.objects.filter(contact=keep, subject="Called the duplicate").exists()


def test_merging_companies_moves_contacts_deals_subscriptions_and_tickets(rep, sales_team):
    keep = CompanyFactory(name="Acme", owner=rep, team=sales_team)
    remove = CompanyFactory(name="ACME Ltd", owner=rep, team=sales_team)
    contact = ContactFactory(company=remove)
    deal = DealFactory(company=remove)
    subscription = SubscriptionFactory(company=remove)
    ticket = TicketFactory(contact=contact, company=remove)
    TaskFactory(company=remove)
    services.activity_log(actor=rep, kind="meeting", subject="Kick-off", company=remove)
    SurveyAnswerFactory(contact=contact, company=remove)
    converted_lead(converted_company=remove)
    # Both have a health score: the survivor keeps its own, the other goes with its company.
    for company, score in ((keep, 80), (remove, 20)):
        CompanyHealth.objects.create(
            company=company,
            score=score,
            engagement=0,
            surveys=0,
            tickets=0,
            purchase_recency=0,
            renewal=0,
            as_of=date(2026, 11, 1),
        )
    assert len(pointing_at(remove)) >= 9

    record_merge(keep=keep, remove=remove, choices={}, actor=rep)

    assert pointing_at(remove) == {}
    for row in (contact, deal, subscription, ticket):
        row.refresh_from_db()
        assert row.company_id == keep.pk
    assert CompanyHealth.objects.get(company=keep).score == 80
    assert CompanyHealth.objects.count() == 1


def test_merging_leads_moves_their_deals_activities_and_tasks(rep, sales_team):
    keep = LeadFactory(name="Rosa Parks", owner=rep, team=sales_team)
    remove = LeadFactory(name="Rosa Park", owner=rep, team=sales_team)
    deal = DealFactory(source_lead=remove)
    TaskFactory(lead=remove)
    services.activity_log(actor=rep, kind="email_sent", subject="Hello", lead=remove)

    record_merge(keep=keep, remove=remove, choices={}, actor=rep)

    assert pointing_at(remove) == {}
    deal.refresh_from_db()
    assert deal.source_lead_id == keep.pk
    assert not Lead.objects.filter(pk=remove.pk).exists()


def test_the_chosen_values_win_field_by_field_custom_fields_too(contacts, rep):
    keep, remove = contacts
    CustomFieldFactory(record_type=RecordType.CONTACT, key="tier", field_type=FieldType.TEXT)
    CustomFieldFactory(record_type=RecordType.CONTACT, key="twitter", field_type=FieldType.TEXT)
    services.record_update(keep, actor=rep, data={"custom": {"tier": "gold", "twitter": "@ana"}})
    services.record_update(remove, actor=rep, data={"custom": {"tier": "silver", "twitter": "@al"}})

    record_merge(
        keep=keep,
        remove=remove,
        choices={
            "email": REMOVE,
            "last_name": KEEP,
            "phone": REMOVE,
            "custom__tier": REMOVE,
            "custom__twitter": KEEP,
        },
        actor=rep,
    )

    keep.refresh_from_db()
    assert keep.email == "ana.lima@acme.example"
    assert keep.last_name == "Lima"
    assert keep.phone == "+55 11 91234 5678"
    assert keep.custom == {"tier": "silver", "twitter": "@ana"}


def test_both_records_history_ends_on_the_survivors_timeline(client, contacts, rep, admin_user):
    keep, remove = contacts
    services.activity_log(actor=rep, kind="call", subject="Spoke to the other Ana", contact=remove)
    removed_events = events_of(remove)
    assert removed_events[0] == "contact.created"

    record_merge(keep=keep, remove=remove, choices={"email": REMOVE}, actor=admin_user)

    # What happened to it is the survivor's now; its own last word says where it went.
    assert events_of(remove) == ["contact.deleted"]
    deleted = Event.objects.get(type="contact.deleted", record_id=remove.pk)
    assert deleted.changes["_merged_into"] == [None, keep.pk]
    assert deleted.changes["email"] == ["ana.lima@acme.example", None]
    history = events_of(keep)
    # Both creations, the chosen value, then the merge itself.
    assert history.count("contact.created") == 2
    assert history[-2:] == ["contact.updated", "contact.merged"]
    merged = Event.objects.get(type="contact.merged", record_id=keep.pk)
    assert merged.changes["merged"] == [remove.pk, keep.pk]
    assert merged.actor == admin_user
    client.force_login(admin_user)
    page = client.get(reverse("contact-detail", args=[keep.pk])).content.decode()
    assert "Spoke to the other Ana" in page
    assert "Merged with “Ana Lima Souza”" in page


def test_the_removed_records_claims_pass_to_the_survivor(rep):
    made = {}

    def create(email):
        return lambda: services.record_create(Contact, actor=rep, data={"last_name": email})

    from django.db import transaction

    with transaction.atomic():
        made["keep"], _ = contact_once(email="one@acme.example", create=create("one"))
    with transaction.atomic():
        made["remove"], _ = contact_once(email="two@acme.example", create=create("two"))
    Contact.objects.filter(pk=made["keep"].pk).update(email="one@acme.example")
    Contact.objects.filter(pk=made["remove"].pk).update(email="two@acme.example")
    keep = Contact.objects.get(pk=made["keep"].pk)
    remove = Contact.objects.get(pk=made["remove"].pk)

    record_merge(keep=keep, remove=remove, choices={"email": REMOVE}, actor=rep)

    claim = DedupeKey.objects.get(scope=CONTACT_EMAIL, key="two@acme.example")
    assert claim.object_id == keep.pk
    with transaction.atomic():
        again, created = contact_once(email="two@acme.example", create=create("three"))
    assert (again.pk, created) == (keep.pk, False)


@pytest.mark.parametrize(
    "pair",
    [
        "same record",
        "another type",
        "already removed",
    ],
)
def test_a_pair_that_cannot_merge_is_refused_and_nothing_changes(contacts, rep, pair):
    keep, remove = contacts
    other = {
        "same record": lambda: keep,
        "another type": lambda: CompanyFactory(),
        "already removed": lambda: _deleted(remove),
    }[pair]()
    events = Event.objects.count()
    with pytest.raises(ValidationError):
        record_merge(keep=keep, remove=other, choices={}, actor=rep)
    assert Event.objects.count() == events
    assert Contact.objects.filter(pk=keep.pk).exists()


def _deleted(contact):
    stale = Contact.objects.get(pk=contact.pk)
    Contact.objects.filter(pk=contact.pk).delete()
    return stale


def test_unknown_fields_or_choices_are_refused(contacts, rep):
    keep, remove = contacts
    for choices in ({"status": REMOVE}, {"email": "both"}, {"custom__nope": REMOVE}):
        with pytest.raises(ValidationError):
            record_merge(keep=keep, remove=remove, choices=choices, actor=rep)
    assert Contact.objects.filter(pk=remove.pk).exists()


# --- The merge page ------------------------------------------------------------------------


def merge_url(record, other=None) -> str:
    url = reverse(f"{record._meta.model_name}-merge", args=[record.pk])
    return f"{url}?other={other}" if other is not None else url


def test_an_admin_merges_from_the_page_choosing_values(client, contacts, admin_user):
    keep, remove = contacts
    client.force_login(admin_user)
    page = client.get(merge_url(keep, remove.pk))
    assert page.status_code == 200
    assert "ana.lima@acme.example" in page.content.decode()

    response = client.post(
        merge_url(keep), {"other": remove.pk, "email": REMOVE, "last_name": KEEP, "phone": REMOVE}
    )

    assert response.status_code == 302
    assert response.url == reverse("contact-detail", args=[keep.pk])
    keep.refresh_from_db()
    assert (keep.email, keep.last_name) == ("ana.lima@acme.example", "Lima")
    assert not Contact.objects.filter(pk=remove.pk).exists()


def test_the_pick_page_suggests_likely_duplicates(client, contacts, admin_user):
    keep, remove = contacts
    Contact.objects.filter(pk=remove.pk).update(email="ANA@acme.example")
    client.force_login(admin_user)
    page = client.get(merge_url(keep))
    assert page.status_code == 200
    assert f"?other={remove.pk}" in page.content.decode()


def test_a_rep_cannot_merge_at_all_without_the_delete_permission(client, contacts, rep):
    keep, remove = contacts
    client.force_login(rep)
    assert client.get(merge_url(keep, remove.pk)).status_code == 403
    assert client.post(merge_url(keep), {"other": remove.pk}).status_code == 403
    assert Contact.objects.filter(pk=remove.pk).exists()


def with_permissions(user: User, *codenames: str) -> User:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # permissions are cached on the object


def test_nobody_merges_a_record_they_may_not_change(client, contacts, outsider, other_team):
    keep, remove = contacts
    outsider = with_permissions(outsider, "delete_contact")
    theirs = ContactFactory(owner=outsider, team=other_team)
    client.force_login(outsider)
    # Another team's record, as the survivor or as the one removed.
    assert client.post(merge_url(keep), {"other": theirs.pk}).status_code == 404
    response = client.post(merge_url(theirs), {"other": remove.pk})
    assert response.status_code == 404
    assert Contact.objects.filter(pk__in=[keep.pk, remove.pk, theirs.pk]).count() == 3


@pytest.mark.parametrize(
    "other, status",
    [("abc", 400), ("-1", 400), ("١٢", 400), ("9" * 40, 400), ("", 200)],
)
def test_hostile_other_values_get_a_clear_answer(client, contacts, admin_user, other, status):
    keep, _remove = contacts
    client.force_login(admin_user)
    response = client.post(merge_url(keep), {"other": other})
    assert response.status_code == status
    assert Contact.objects.count() == 2


def test_merging_with_itself_another_types_pk_or_a_removed_record_says_why(
    client, contacts, admin_user
):
    keep, remove = contacts
    company = CompanyFactory()
    client.force_login(admin_user)
    itself = client.post(merge_url(keep), {"other": keep.pk})
    assert itself.status_code == 400
    assert "cannot be merged with itself" in itself.content.decode()
    missing = max(company.pk, remove.pk) + 1000
    assert client.post(merge_url(keep), {"other": missing}).status_code == 404
    client.post(merge_url(keep), {"other": remove.pk})
    again = client.post(merge_url(keep), {"other": remove.pk})
    assert again.status_code == 404
    assert "merged already" in again.content.decode()


def test_a_bad_choice_on_the_page_is_a_form_error(client, contacts, admin_user):
    keep, remove = contacts
    client.force_login(admin_user)
    response = client.post(merge_url(keep), {"other": remove.pk, "email": "both"})
    assert response.status_code == 400
    assert Contact.objects.filter(pk=remove.pk).exists()


def test_merge_pages_exist_for_companies_and_leads(client, admin_user):
    client.force_login(admin_user)
    for keep, remove in (
        (CompanyFactory(name="Acme"), CompanyFactory(name="Acme Inc")),
        (LeadFactory(name="Rosa"), LeadFactory(name="Rosa P.")),
    ):
        assert client.get(merge_url(keep, remove.pk)).status_code == 200
        response = client.post(merge_url(keep), {"other": remove.pk})
        assert response.status_code == 302
        assert not type(remove).objects.filter(pk=remove.pk).exists()
    assert Company.objects.count() == 1


def test_record_pages_offer_merging_to_those_who_may_merge(client, contacts, rep, admin_user):
    keep, _remove = contacts
    link = reverse("contact-merge", args=[keep.pk])
    client.force_login(admin_user)
    assert link in client.get(reverse("contact-detail", args=[keep.pk])).content.decode()
    client.force_login(rep)
    assert link not in client.get(reverse("contact-detail", args=[keep.pk])).content.decode()


def test_a_merge_that_fails_half_way_writes_nothing(contacts, rep):
    keep, remove = contacts
    CustomFieldFactory(
        record_type=RecordType.CONTACT, key="tier", field_type=FieldType.SELECT, choices=["Gold"]
    )
    # A value stored before its option was removed: the survivor cannot take it any more.
    Contact.objects.filter(pk=remove.pk).update(custom={"tier": "Bronze"})
    remove.refresh_from_db()
    deal = DealFactory(contact=remove)
    events = Event.objects.count()

    with pytest.raises(ValidationError):
        record_merge(keep=keep, remove=remove, choices={"custom__tier": REMOVE}, actor=rep)

    deal.refresh_from_db()
    assert deal.contact_id == remove.pk
    assert Contact.objects.filter(pk=remove.pk).exists()
    assert Event.objects.count() == events


def test_the_merge_shows_on_the_company_timeline_of_a_merged_contact(
    client, contacts, rep, admin_user
):
    keep, remove = contacts
    company = CompanyFactory(owner=rep)
    Contact.objects.filter(pk=keep.pk).update(company=company)
    keep.refresh_from_db()

    record_merge(keep=keep, remove=remove, choices={}, actor=admin_user)

    client.force_login(admin_user)
    page = client.get(reverse("company-detail", args=[company.pk])).content.decode()
    assert "Merged with “Ana Lima Souza”" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_pair_merged_both_ways_at_once_is_merged_once(rep, sales_team):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    one = ContactFactory(owner=rep, team=sales_team)
    two = ContactFactory(owner=rep, team=sales_team)
    deals = [DealFactory(contact=one), DealFactory(contact=two)]

    results = at_once(
        lambda: record_merge(keep=one, remove=two, choices={}, actor=rep),
        lambda: record_merge(keep=two, remove=one, choices={}, actor=rep),
    )

    merged = [r for r in results if isinstance(r, Contact)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(merged), len(refused)) == (1, 1), results
    survivor = Contact.objects.get(pk__in=[one.pk, two.pk])
    assert survivor.pk == merged[0].pk
    for deal in deals:
        deal.refresh_from_db()
        assert deal.contact_id == survivor.pk


def at_once(*calls) -> list:
    """Each call in its own thread and database connection, released together; the results
    in order, an exception standing for its result."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            start.wait(timeout=30)
            results[index] = call()
        except Exception as error:  # the test reads it
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_a_merged_records_automation_runs_follow_it_to_the_survivor(contacts, rep):
    from automations.models import RuleRun, RunStatus
    from tests.automations.factories import make_rule

    keep, remove = contacts
    rule = make_rule(trigger={"type": "record.created", "record_type": "contact"})
    run = RuleRun.objects.create(
        rule=rule,
        rule_version=rule.version,
        record_type="contact",
        record_id=remove.pk,
        status=RunStatus.MATCHED,
    )

    record_merge(keep=keep, remove=remove, choices={}, actor=rep)

    run.refresh_from_db()
    assert run.record_id == keep.pk
