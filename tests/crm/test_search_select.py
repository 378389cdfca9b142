"""Big foreign-key selects carry only the chosen option and search the rest on demand."""

import pytest
from django.urls import reverse

from tests.crm.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def companies(rep, outsider, sales_team, other_team):
    return {
        "ours": CompanyFactory(name="Acme Ours", owner=rep, team=sales_team),
        "other": CompanyFactory(name="Acme Hidden", owner=outsider, team=other_team),
        "unchosen": CompanyFactory(name="Zeta Unchosen", owner=rep, team=sales_team),
    }


def test_contact_form_renders_only_the_chosen_company(client, rep, companies):
    contact = ContactFactory(owner=rep, team=companies["ours"].team, company=companies["ours"])
    client.force_login(rep)
    page = client.get(reverse("contact-edit", args=[contact.pk])).content.decode()
    assert "Acme Ours" in page
    assert "Zeta Unchosen" not in page
    assert 'data-search-url="/search/options/company/"' in page


def test_contact_form_still_refuses_a_company_the_user_cannot_see(client, rep, companies):
    client.force_login(rep)
    data = {"first_name": "A", "last_name": "B", "company": companies["other"].pk}
    response = client.post(reverse("contact-create"), data)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_options_endpoint_lists_visible_matches_only(client, rep, companies):
    client.force_login(rep)
    response = client.get(reverse("search-options", args=["company"]), {"q": "Acme"})
    assert response.status_code == 200
    assert response.json() == {"results": [{"id": companies["ours"].pk, "label": "Acme Ours"}]}


@pytest.mark.parametrize(
    ("record_type", "term", "status"), [("deal", "a", 404), ("company", "", 200)]
)
def test_options_endpoint_refuses_unknown_types_and_ignores_empty_terms(
    client, rep, record_type, term, status
):
    client.force_login(rep)
    response = client.get(f"/search/options/{record_type}/", {"q": term})
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"results": []}


def test_deal_form_renders_only_the_chosen_company_and_contact(client, rep, companies):
    from tests.crm.factories import DealFactory

    contact = ContactFactory(first_name="Chosen", owner=rep, team=companies["ours"].team)
    ContactFactory(first_name="Unchosen", owner=rep, team=companies["ours"].team)
    deal = DealFactory(
        owner=rep, team=companies["ours"].team, company=companies["ours"], contact=contact
    )
    client.force_login(rep)
    page = client.get(f"/deals/{deal.pk}/edit/").content.decode()
    assert "Acme Ours" in page and "Chosen" in page
    assert "Zeta Unchosen" not in page and "Unchosen" not in page.replace("Zeta Unchosen", "")
    assert 'data-search-url="/search/options/contact/"' in page
