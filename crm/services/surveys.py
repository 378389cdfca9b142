from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import SCORE_RANGES, Company, Contact, SurveyAnswer, SurveyKind, Ticket

from .errors import InvalidTransition
from .events import event_record

MAX_COMMENT_LENGTH = 5000


def survey_answer_record(
    *,
    kind: str,
    score: int,
    comment: str = "",
    contact: Contact | None = None,
    company: Company | None = None,
    ticket: Ticket | None = None,
) -> SurveyAnswer:
    """Store one answer, attached to the contact, their company and the ticket it is about."""
    if kind not in SurveyKind.values:
        raise InvalidTransition({"kind": _("Unknown survey.")})
    low, high = SCORE_RANGES[kind]
    if not isinstance(score, int) or isinstance(score, bool) or not low <= score <= high:
        raise InvalidTransition(
            {"score": _("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high}}
        )
    if len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidTransition(
            {"comment": _("Keep the comment under %s characters.") % MAX_COMMENT_LENGTH}
        )
    contact = contact or (ticket.contact if ticket else None)
    company = (
        company or (contact.company if contact else None) or (ticket.company if ticket else None)
    )
    with transaction.atomic():
        answer = SurveyAnswer.objects.create(
            kind=kind, score=score, comment=comment, contact=contact, company=company, ticket=ticket
        )
        event_record(
            type="survey.answered",
            instance=answer,
            actor=None,
            changes={"kind": [None, kind], "score": [None, score]},
        )
    return answer
