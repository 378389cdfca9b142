"""Company pickers on the list pages carry only the chosen company: the ticket queue's Company
filter and the NPS page search as the user types, through the user's visibility."""

import re

import pytest
from django.urls import reverse

from crm import services
from crm.views.search import OPTIONS_LIMIT
from tests.crm.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("tickets")
OPTIONS = reverse("ticket-companies")


def open_ticket(company, **data):
    contact = ContactFactory(company=company)
    data = {"subject": "Help", "description": "Please", "contact": contact, "company": company}
    return services.ticket_create(actor=None, data=data)


def options(html: str) -> list[str]:
    select = re.search(r'<select name="company".*?</select>', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


@pytest.fixture
def companies(db):
    """Three companies with a ticket nobody took (every agent sees those), one without."""
    made = {name: CompanyFactory(name=name) for name in ("Acme", "Acorn", "Zenith")}
    for company in made.values():
        open_ticket(company)
    made["Quiet"] = CompanyFactory(name="Acme Quiet")
    return made


def test_the_queue_lists_no_company_until_one_is_chosen(client, agent, companies):
    client.force_login(agent)
    html = client.get(QUEUE).content.decode()
    assert options(html) == ["---------"]
    assert f'data-search-url="{OPTIONS}"' in html


def test_a_chosen_company_filters_the_queue_and_is_shown_by_name(client, agent, companies):
    client.force_login(agent)
    response = client.get(QUEUE, {"company": companies["Acorn"].pk})
    assert [ticket.company.name for ticket, _timer in response.context["rows"]] == ["Acorn"]
    assert options(response.content.decode()) == ["---------", "Acorn"]


@pytest.mark.parametrize("value", ["abc", "-1", str(10**30), "1 OR 1=1", "99999999"])
def test_a_bad_company_is_ignored_not_a_crash(client, agent, companies, value):
    client.force_login(agent)
    response = client.get(QUEUE, {"company": value})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 3


def test_a_company_without_a_visible_ticket_does_not_filter(client, agent, companies):
    client.force_login(agent)
    response = client.get(QUEUE, {"company": companies["Quiet"].pk})
    assert response.status_code == 200
    assert "Acme Quiet" not in response.content.decode()


def test_options_are_the_companies_of_visible_tickets_matching_the_words(client, agent, companies):
    client.force_login(agent)
    found = client.get(OPTIONS, {"q": "Ac"}).json()["results"]
    assert sorted(row["label"] for row in found) == ["Acme", "Acorn"]
    assert {row["id"] for row in found} == {companies["Acme"].pk, companies["Acorn"].pk}


def test_options_leave_out_the_companies_of_tickets_the_user_cannot_see(
    client, rep, sales_team, companies
):
    mine = CompanyFactory(name="Acme Mine", owner=rep, team=sales_team)
    open_ticket(mine)
    client.force_login(rep)
    found = client.get(OPTIONS, {"q": "Acme"}).json()["results"]
    assert found == [{"id": mine.pk, "label": "Acme Mine"}]


def test_options_are_few_whatever_matches(client, admin_user):
    for n in range(OPTIONS_LIMIT + 5):
        open_ticket(CompanyFactory(name=f"Acme {n}"))
    client.force_login(admin_user)
    assert len(client.get(OPTIONS, {"q": "Acme"}).json()["results"]) == OPTIONS_LIMIT


@pytest.mark.parametrize("term", ["", "   ", "x" * 5000, "' OR 1=1 --", "%", "\x00"])
def test_options_take_any_term_without_a_crash(client, agent, companies, term):
    client.force_login(agent)
    response = client.get(OPTIONS, {"q": term})
    # A NUL byte is refused as a bad request before any view (crm.middleware).
    assert response.status_code == (400 if "\x00" in term else 200)
    if response.status_code == 200:
        assert isinstance(response.json()["results"], list)


def test_options_need_a_login(client, companies):
    response = client.get(OPTIONS, {"q": "Acme"})
    assert response.status_code in (302, 403)


def test_the_nps_page_lists_no_company_until_one_is_chosen(client, admin_user, companies):
    client.force_login(admin_user)
    html = client.get(reverse("tickets-nps")).content.decode()
    assert options(html) == ["---------"]
    assert 'data-search-url="/search/options/company/"' in html


def test_the_nps_page_still_refuses_a_company_the_user_cannot_see(
    client, manager, sales_team, companies
):
    client.force_login(manager)
    response = client.post(reverse("tickets-nps"), {"company": companies["Acme"].pk})
    assert response.status_code == 400
