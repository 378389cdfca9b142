"""Demo data for automations, called after `seed_demo` (settings.CRM_AFTER_SEED).

The ready-made rules exist (migrations install them); two harmless ones are enabled and given
a little history so the rule pages are alive on first run: a few open deals won through the
service (the deal-won rule acts on them) and one pass of the idle-deal rule.
"""

from django.db import transaction
from django.utils import timezone

from crm import services
from crm.models import Deal, DealStatus, Stage, StageOutcome

from .engine import dispatch_pending_events
from .models import Rule
from .ready_made import install_ready_made
from .timed import run_record_tick

ENABLED_IN_DEMO = ("deal_won_onboarding", "idle_deal_14_days")
DEALS_WON_IN_DEMO = 3
IDLE_DEALS_IN_DEMO = 25


def seed_demo_rules(*, scale: str = "small", today=None) -> dict:
    install_ready_made()
    Rule.objects.filter(template_key__in=ENABLED_IN_DEMO).update(enabled=True)
    won = _win_a_few_deals()
    dispatched = dispatch_pending_events()
    idle_rule = Rule.objects.get(template_key="idle_deal_14_days")
    idle_runs = run_record_tick(idle_rule, now=timezone.now(), limit=IDLE_DEALS_IN_DEMO)
    return {"deals_won": won, "events": dispatched, "idle_runs": idle_runs}


def _win_a_few_deals() -> int:
    deals = (
        Deal.objects.filter(status=DealStatus.OPEN, company__isnull=False, owner__isnull=False)
        .select_related("owner")
        .order_by("-amount", "pk")[:DEALS_WON_IN_DEMO]
    )
    won = 0
    for deal in deals:
        stage = Stage.objects.filter(pipeline_id=deal.pipeline_id, outcome=StageOutcome.WON).first()
        if stage is None:
            continue
        with transaction.atomic():
            services.deal_move_stage(deal=deal, stage=stage, actor=deal.owner)
        won += 1
    return won
