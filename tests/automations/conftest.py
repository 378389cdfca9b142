import pytest

from automations.engine import dispatch_pending_events


@pytest.fixture
def dispatch():
    """Evaluate every pending event now, as the worker does after a change commits (chained
    changes made by actions included); returns how many events were evaluated."""
    return dispatch_pending_events


@pytest.fixture
def won_stage(db):
    from crm.models import Pipeline, StageOutcome

    return Pipeline.objects.get(is_default=True).stages.get(outcome=StageOutcome.WON)
