import pytest

from crm.models import DealStatus
from tests.crm import factories as f


@pytest.mark.django_db
def test_factories_build_valid_rows():
    deal = f.DealFactory()
    assert deal.status == DealStatus.OPEN
    assert deal.stage.name == "Prospecting"
    assert f.TicketFactory().company is not None
    assert f.SubscriptionFactory().monthly_value > 0
