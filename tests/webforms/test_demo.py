import pytest

from crm.models import Lead, Ticket
from webforms.demo import seed_demo_forms
from webforms.models import WebForm, WebFormSubmission

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_lead_form_and_a_support_form_with_submissions_once(sales_team):
    seed_demo_forms(scale="small", today=None)
    seed_demo_forms(scale="small", today=None)

    assert sorted(WebForm.objects.values_list("slug", flat=True)) == ["contact-us", "support"]
    assert WebFormSubmission.objects.count() == 5
    assert Lead.objects.filter(source="web").count() == 3
    assert Ticket.objects.count() == 2
    # In turn within the sales team: three leads, three different people.
    assert Lead.objects.values("owner").distinct().count() == 3
