"""The conventions every resource shares (api/base.py), through the deals and companies."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import IdempotencyKey
from crm.models import Company, Event, User
from tests.crm.factories import CompanyFactory, ContactFactory, DealFactory, LeadFactory


@pytest.fixture
def signed_in(api, rep, sales_team):
    api.force_authenticate(rep)
    return api


def test_lists_are_cursor_paged_with_a_capped_page_size(signed_in, rep, sales_team):
    DealFactory.create_batch(3, owner=rep, team=sales_team)
    first = signed_in.get("/api/deals/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"] and first["previous"] is None
    rest = signed_in.get(first["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    ids = [d["id"] for d in first["results"] + rest["results"]]
    assert ids == sorted(ids, reverse=True)
    DealFactory.create_batch(2, owner=rep, team=sales_team)
    capped = signed_in.get("/api/deals/?page_size=100000")
    assert capped.status_code == 200 and len(capped.json()["results"]) == 5


def test_fields_choose_the_fields_and_ordering_follows_the_allow_list(signed_in, rep, sales_team):
    DealFactory(owner=rep, team=sales_team, name="B")
    DealFactory(owner=rep, team=sales_team, name="A")
    response = signed_in.get("/api/deals/?fields=name,amount&ordering=name")
    assert [sorted(row) for row in response.json()["results"]] == [["amount", "id", "name"]] * 2
    assert [row["name"] for row in response.json()["results"]] == ["A", "B"]
    # A field off the allow-list is ignored, never a server error.
    assert signed_in.get("/api/deals/?ordering=owner__password").status_code == 200


@pytest.mark.parametrize("url", ["/api/tasks/?due_before=", "/api/survey-answers/?answered_after="])
def test_a_moment_filter_takes_any_offset_python_reads(signed_in, url):
    # PostgreSQL refuses offsets past 15:59; the filter passes the moment on in UTC.
    far = signed_in.get(url + "0855-06-20T19:00:12%2B21:27")
    assert far.status_code == 200 and far.json()["results"] == []
    # Before the year 1 once in UTC: a field error, not a server error.
    early = signed_in.get(url + "0001-01-01T00:00:00%2B05:00")
    assert early.status_code == 400 and len(early.json()["errors"]) == 1


def test_errors_have_one_shape(signed_in):
    bad = signed_in.post("/api/companies/", {"name": ""}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()) == {"detail", "errors"} and "name" in bad.json()["errors"]
    missing = signed_in.get("/api/companies/999999/")
    assert missing.status_code == 404 and missing.json()["errors"] == {}
    # A service's Django ValidationError (too long a text) answers 400 with field errors.
    long = signed_in.post("/api/companies/", {"name": "x" * 5000}, format="json")
    assert long.status_code == 400 and "name" in long.json()["errors"]


def test_detail_sends_an_etag_and_a_stale_if_match_is_refused(signed_in, rep, sales_team):
    company = CompanyFactory(owner=rep, team=sales_team, name="Old")
    url = f"/api/companies/{company.pk}/"
    etag = signed_in.get(url).headers["ETag"]
    assert signed_in.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    fresh = signed_in.patch(url, {"name": "New"}, format="json", HTTP_IF_MATCH=etag)
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    events = Event.objects.count()
    stale = signed_in.patch(url, {"name": "Newer"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and set(stale.json()) == {"detail", "errors"}
    company.refresh_from_db()
    assert company.name == "New" and Event.objects.count() == events


def test_an_idempotency_key_replays_the_first_answer_and_writes_nothing_new(signed_in):
    body = {"name": "Acme"}
    first = signed_in.post("/api/companies/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = signed_in.post("/api/companies/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replay"] == "true"
    assert Company.objects.filter(name="Acme").count() == 1
    other = signed_in.post(
        "/api/companies/", {"name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 422 and set(other.json()) == {"detail", "errors"}
    assert not Company.objects.filter(name="Other").exists()
    assert IdempotencyKey.objects.count() == 1


def test_a_refused_post_does_not_use_up_its_idempotency_key(signed_in):
    bad = signed_in.post("/api/companies/", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert bad.status_code == 400 and not IdempotencyKey.objects.exists()
    good = signed_in.post("/api/companies/", {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert good.status_code == 201


LIST_FACTORIES = {
    "/api/deals/": DealFactory,
    "/api/companies/": CompanyFactory,
    "/api/leads/": LeadFactory,
    "/api/contacts/": ContactFactory,
}


@pytest.mark.parametrize("url", list(LIST_FACTORIES))
def test_lists_run_the_same_queries_for_5_and_50_rows(
    api, rep, sales_team, url, django_assert_num_queries
):
    factory = LIST_FACTORIES[url]

    def fetch():
        # A fresh user object each time: the access rules cache the user's teams on it.
        api.force_authenticate(User.objects.get(pk=rep.pk))
        response = api.get(f"{url}?page_size=200")
        assert response.status_code == 200
        return len(response.json()["results"])

    factory.create_batch(5, owner=rep, team=sales_team)
    with CaptureQueriesContext(connection) as queries:
        assert fetch() == 5
    factory.create_batch(45, owner=rep, team=sales_team)
    with django_assert_num_queries(len(queries)):
        assert fetch() >= 50


def test_a_replayed_transition_moves_the_deal_once(signed_in, rep, sales_team):
    from crm.models import DealStageChange
    from tests.crm.factories import stage_named

    deal = DealFactory(owner=rep, team=sales_team)
    body = {"stage": stage_named("Proposal").pk}
    url = f"/api/deals/{deal.pk}/move/"
    first = signed_in.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="move-1")
    again = signed_in.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="move-1")
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert DealStageChange.objects.filter(deal=deal).count() == 1


def test_a_key_committed_by_a_concurrent_request_wins_and_ours_is_rolled_back(
    signed_in, rep, monkeypatch
):
    """Two requests with one key pass the lookup at once: the unique constraint stops the
    second, whose write is rolled back, and it answers the first one's stored response."""
    from api.base import IdempotencyMixin

    body = {"name": "Acme"}
    first = signed_in.post("/api/companies/", body, format="json", HTTP_IDEMPOTENCY_KEY="race")
    # The second request does not see the first's row when it looks (not yet committed).
    looks = iter([None])
    real = IdempotencyMixin._stored
    monkeypatch.setattr(
        IdempotencyMixin, "_stored", staticmethod(lambda u, k: next(looks, None) or real(u, k))
    )
    second = signed_in.post("/api/companies/", body, format="json", HTTP_IDEMPOTENCY_KEY="race")
    assert second.status_code == 201 and second.json() == first.json()
    assert Company.objects.filter(name="Acme").count() == 1
    assert Event.objects.filter(type="company.created").count() == 1


def test_a_record_the_role_only_reads_cannot_be_changed(api, agent, rep, sales_team):
    """An agent reads the contact of a ticket they work on, and changes nothing of it."""
    from tests.crm.factories import ContactFactory, TicketFactory

    contact = ContactFactory(owner=rep, team=sales_team, last_name="Reader")
    TicketFactory(contact=contact, assignee=agent)
    api.force_authenticate(agent)
    url = f"/api/contacts/{contact.pk}/"
    assert api.get(url).status_code == 200
    events = Event.objects.count()
    assert api.patch(url, {"last_name": "Changed"}, format="json").status_code == 403
    contact.refresh_from_db()
    assert contact.last_name == "Reader" and Event.objects.count() == events


@pytest.mark.parametrize("path", ["/api/activities/", "/api/tasks/", "/api/tickets/"])
def test_the_browsable_apis_filter_form_asks_for_ids_rather_than_listing_every_record(
    client, admin_user, path
):
    # A select of every contact, company and ticket a reader sees made /api/activities/ a
    # 29 MB page on a large installation.
    contacts = ContactFactory.create_batch(3)
    client.force_login(admin_user)

    page = client.get(path, headers={"accept": "text/html"})

    assert page.status_code == 200
    html = page.content.decode()
    filters = html.split('id="filtersModal"')[1].split("</form>")[0]
    assert '<input type="number" name="contact"' in filters
    # Nor does the form that posts a new one (api.renderers).
    assert not [c for c in contacts if f'<option value="{c.pk}"' in html]
    refused = client.get(f"{path}?contact=999999999", headers={"accept": "application/json"})
    assert refused.status_code == 400


def test_the_browsable_apis_edit_form_shows_a_records_links_as_ids(client, admin_user):
    # Its first 1,000 contacts in name order took 37 s to read on a large installation.
    deal = DealFactory(company=CompanyFactory(), contact=ContactFactory())
    client.force_login(admin_user)

    page = client.get(f"/api/deals/{deal.pk}/", headers={"accept": "text/html"})

    assert page.status_code == 200
    html = page.content.decode()
    for name in ("company", "contact"):
        value = getattr(deal, f"{name}_id")
        assert f'<input name="{name}" class="form-control" type="number"  value="{value}"' in html
    assert f'<option value="{deal.company_id}"' not in html
