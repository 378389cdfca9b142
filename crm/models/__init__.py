from .activities import ENGAGEMENT_KINDS, Activity, ActivityKind, Direction
from .companies import Company, Contact, ContactStage, Industry, Lifecycle, SizeBand
from .custom_fields import CustomField, FieldType, RecordType
from .deals import Deal, DealKind, DealStageChange, DealStatus
from .dedupe import DedupeKey
from .events import Event
from .expenses import ACQUISITION_CATEGORIES, RETENTION_CATEGORIES, Expense, ExpenseCategory
from .knowledge import Article, ArticleCategory, ArticleStatus
from .leads import Lead, LeadSource, LeadStatus
from .notifications import Notification
from .pipelines import Pipeline, Stage, StageOutcome
from .subscriptions import Subscription, SubscriptionStatus
from .surveys import SCORE_RANGES, SurveyAnswer, SurveyInvitation, SurveyKind
from .tasks import Task, TaskPriority, TaskStatus
from .tickets import (
    DONE_STATUSES,
    MessageAuthor,
    SLAPolicy,
    SupportSettings,
    Ticket,
    TicketChannel,
    TicketMessage,
    TicketPriority,
    TicketStatus,
)
from .users import LoginEvent, Role, Team, User

__all__ = [
    "ACQUISITION_CATEGORIES",
    "DONE_STATUSES",
    "ENGAGEMENT_KINDS",
    "RETENTION_CATEGORIES",
    "SCORE_RANGES",
    "Activity",
    "ActivityKind",
    "Article",
    "ArticleCategory",
    "ArticleStatus",
    "Company",
    "Contact",
    "ContactStage",
    "CustomField",
    "Deal",
    "DealKind",
    "DealStageChange",
    "DealStatus",
    "DedupeKey",
    "Direction",
    "Event",
    "Expense",
    "ExpenseCategory",
    "FieldType",
    "Industry",
    "Lead",
    "LeadSource",
    "LeadStatus",
    "Lifecycle",
    "LoginEvent",
    "MessageAuthor",
    "Notification",
    "Pipeline",
    "RecordType",
    "Role",
    "SLAPolicy",
    "SizeBand",
    "Stage",
    "StageOutcome",
    "Subscription",
    "SubscriptionStatus",
    "SupportSettings",
    "SurveyAnswer",
    "SurveyInvitation",
    "SurveyKind",
    "Task",
    "TaskPriority",
    "TaskStatus",
    "Team",
    "Ticket",
    "TicketChannel",
    "TicketMessage",
    "TicketPriority",
    "TicketStatus",
    "User",
]
