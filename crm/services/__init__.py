"""Operations on the records: the only write path (see DESIGN.md, "Logic placement").

Views, the API, admin actions, tasks, automations and commands all call these functions.
Each one writes its change and its event row in one transaction, or nothing at all.
"""

from .activities import activity_log
from .deals import deal_create, deal_move_stage
from .errors import InvalidTransition
from .events import event_record
from .leads import Conversion, conversion_matches, lead_convert, lead_disqualify, lead_qualify
from .records import record_create, record_update
from .subscriptions import (
    subscription_cancel,
    subscription_expire,
    subscription_renew,
    subscription_start,
)
from .surveys import survey_answer_record
from .tasks import task_cancel, task_complete, task_create, task_reopen, task_update
from .tickets import (
    ticket_create,
    ticket_customer_reply,
    ticket_reopen,
    ticket_reply,
    ticket_resolve,
    ticket_set_status,
    ticket_update,
)
from .users import login_record

__all__ = [
    "Conversion",
    "InvalidTransition",
    "activity_log",
    "conversion_matches",
    "deal_create",
    "deal_move_stage",
    "event_record",
    "lead_convert",
    "lead_disqualify",
    "lead_qualify",
    "login_record",
    "record_create",
    "record_update",
    "subscription_cancel",
    "subscription_expire",
    "subscription_renew",
    "subscription_start",
    "survey_answer_record",
    "task_cancel",
    "task_complete",
    "task_create",
    "task_reopen",
    "task_update",
    "ticket_create",
    "ticket_customer_reply",
    "ticket_reopen",
    "ticket_reply",
    "ticket_resolve",
    "ticket_set_status",
    "ticket_update",
]
