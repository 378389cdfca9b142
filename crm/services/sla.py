"""SLA policies, one per ticket priority, as admins set them (the settings pages).

A ticket's due times are fixed from its priority's policy when it opens or its priority
changes (services.tickets), so a change here applies to tickets from then on.
"""

from decimal import Decimal

from django.db import transaction

from crm.models import SLAPolicy, User

from .deletes import record_delete
from .reference import reference_save


def sla_policies_save(
    *, actor: User | None, targets: dict[str, tuple[Decimal, Decimal] | None]
) -> None:
    """Set each priority's (first response, resolution) hours; None removes its policy. All
    priorities are saved together or, when one is refused, none."""
    with transaction.atomic():
        current = {p.priority: p for p in SLAPolicy.objects.select_for_update().order_by("pk")}
        for priority, hours in targets.items():
            policy = current.get(priority)
            if hours is None:
                if policy is not None:
                    record_delete(policy, actor=actor)
                continue
            first_response, resolution = hours
            reference_save(
                SLAPolicy,
                actor=actor,
                data={
                    "priority": priority,
                    "first_response_hours": first_response,
                    "resolution_hours": resolution,
                },
                pk=policy.pk if policy else None,
            )
