"""Each record list offers "Import" to the users who may import that record type."""

import pytest
from django.urls import reverse

from crm.access import may_import

pytestmark = pytest.mark.django_db

LISTS = {"leads": "lead", "contacts": "contact", "companies": "company", "deals": "deal"}


@pytest.mark.parametrize("page, record_type", LISTS.items())
def test_a_list_links_its_import_for_who_may_import(client, sales_team, agent, page, record_type):
    for user in (sales_team["rep"], agent):
        client.force_login(user)
        html = client.get(reverse(page)).content.decode()
        link = reverse(f"import-{record_type}")
        assert (f'href="{link}"' in html) == may_import(user, record_type), (user, page)


def test_a_rep_is_offered_the_import_of_leads(client, sales_team):
    client.force_login(sales_team["rep"])
    assert 'data-testid="import-link"' in client.get(reverse("leads")).content.decode()
