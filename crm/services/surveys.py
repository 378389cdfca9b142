import re
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.limits import COMMENT_MAX_LENGTH
from crm.models import (
    SCORE_RANGES,
    Company,
    Contact,
    SurveyAnswer,
    SurveyInvitation,
    SurveyKind,
    Ticket,
)

from .errors import InvalidTransition
from .events import event_record

MAX_COMMENT_LENGTH = COMMENT_MAX_LENGTH


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


# Invitations: emailed links that allow exactly one answer each.

INVITATION_TTL = timedelta(days=30)
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class SurveyTokenError(InvalidTransition):
    """The link cannot be answered; `reason` is one of "unknown", "expired", "answered"."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def survey_invite(
    *,
    kind: str,
    contact: Contact | None = None,
    company: Company | None = None,
    ticket: Ticket | None = None,
    ttl: timedelta = INVITATION_TTL,
) -> SurveyInvitation:
    """A new invitation with an unguessable token (256 random bits); nothing is sent here."""
    if kind not in SurveyKind.values:
        raise InvalidTransition({"kind": _("Unknown survey.")})
    contact = contact or (ticket.contact if ticket else None)
    company = (
        company or (contact.company if contact else None) or (ticket.company if ticket else None)
    )
    now = timezone.now()
    with transaction.atomic():
        invitation = SurveyInvitation.objects.create(
            token=secrets.token_urlsafe(32),
            kind=kind,
            contact=contact,
            company=company,
            ticket=ticket,
            email=(contact.email if contact else "") or "",
            created_at=now,
            expires_at=now + ttl,
        )
        event_record(
            type="surveyinvitation.created",
            instance=invitation,
            actor=None,
            changes={"kind": [None, kind]},
        )
    return invitation


def survey_invitation_for_token(token: str) -> SurveyInvitation:
    """The invitation a link points to, if it may still be answered."""
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        raise SurveyTokenError("unknown", _("This survey link is not valid."))
    invitation = (
        SurveyInvitation.objects.select_related("contact", "company", "ticket")
        .filter(token=token)
        .first()
    )
    if invitation is None:
        raise SurveyTokenError("unknown", _("This survey link is not valid."))
    _check_open(invitation)
    return invitation


def survey_invitation_answer(*, token: str, score: int, comment: str = "") -> SurveyAnswer:
    """Record the one answer a link allows; a second submission writes nothing."""
    survey_invitation_for_token(token)
    with transaction.atomic():
        # Locked so two submissions racing each other cannot both answer.
        invitation = SurveyInvitation.objects.select_for_update().get(token=token)
        _check_open(invitation)
        answer = survey_answer_record(
            kind=invitation.kind,
            score=score,
            comment=comment,
            contact=invitation.contact,
            company=invitation.company,
            ticket=invitation.ticket,
        )
        invitation.answered_at = answer.answered_at
        invitation.answer = answer
        invitation.save(update_fields=["answered_at", "answer"])
    return answer


def survey_invitation_mark_sent(*, invitation: SurveyInvitation) -> bool:
    """Stamp the invitation as emailed; False if it already was (a task ran twice)."""
    return bool(
        SurveyInvitation.objects.filter(pk=invitation.pk, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
    )


def _check_open(invitation: SurveyInvitation) -> None:
    if invitation.answered_at is not None:
        raise SurveyTokenError("answered", _("This survey has already been answered. Thank you!"))
    if invitation.is_expired():
        raise SurveyTokenError("expired", _("This survey link has expired."))
