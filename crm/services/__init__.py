"""Operations on the records: the only write path (see DESIGN.md, "Logic placement").

Views, the API, admin actions, tasks, automations and commands all call these functions.
Each one writes its change and its event row in one transaction, or nothing at all.
"""

from .activities import activity_log
from .deals import deal_create, deal_move_stage
from .deletes import record_delete
from .errors import InvalidTransition, RecordInUse
from .events import event_record
from .knowledge import article_create, article_update, category_create
from .leads import Conversion, conversion_matches, lead_convert, lead_disqualify, lead_qualify
from .notifications import (
    notifications_mark_read,
    notifications_set_email,
    notify,
)
from .records import company_set_lifecycle, record_create, record_update, records_create_many
from .subscriptions import (
    subscription_cancel,
    subscription_expire,
    subscription_renew,
    subscription_start,
)
from .support import (
    nps_invite_contacts,
    sla_mark_breaches,
    support_settings_update,
    surveys_for_resolved_ticket,
    ticket_agent_reply,
    ticket_customer_reply_once,
    ticket_open_for_customer,
    ticket_open_from_web,
    ticket_resolve_and_survey,
    tickets_bulk_assign,
    tickets_bulk_set_status,
)
from .surveys import (
    SurveyTokenError,
    survey_answer_record,
    survey_invitation_answer,
    survey_invite,
)
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
from .users import deactivate_user, login_record

__all__ = [
    "Conversion",
    "InvalidTransition",
    "RecordInUse",
    "SurveyTokenError",
    "activity_log",
    "article_create",
    "article_update",
    "category_create",
    "company_set_lifecycle",
    "conversion_matches",
    "deactivate_user",
    "deal_create",
    "deal_move_stage",
    "event_record",
    "lead_convert",
    "lead_disqualify",
    "lead_qualify",
    "login_record",
    "notifications_mark_read",
    "notifications_set_email",
    "notify",
    "nps_invite_contacts",
    "record_create",
    "record_delete",
    "record_update",
    "records_create_many",
    "sla_mark_breaches",
    "subscription_cancel",
    "subscription_expire",
    "subscription_renew",
    "subscription_start",
    "survey_answer_record",
    "survey_invitation_answer",
    "survey_invite",
    "support_settings_update",
    "surveys_for_resolved_ticket",
    "task_cancel",
    "task_complete",
    "task_create",
    "task_reopen",
    "task_update",
    "ticket_agent_reply",
    "ticket_create",
    "ticket_customer_reply",
    "ticket_customer_reply_once",
    "ticket_open_for_customer",
    "ticket_open_from_web",
    "ticket_reopen",
    "ticket_reply",
    "ticket_resolve",
    "ticket_resolve_and_survey",
    "ticket_set_status",
    "ticket_update",
    "tickets_bulk_assign",
    "tickets_bulk_set_status",
]
