"""Building web forms and receiving their submissions: the only write path of this app.

A submission is written in one transaction with the record it creates (through the CRM's
services, so its events reach automations and webhooks) or not at all.
"""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from crm.models import Contact, Lead, LeadSource, SurveyKind, Team, TicketChannel, User
from crm.services.events import event_context
from crm.services.notifications import notify
from crm.services.records import record_create
from crm.services.support import normalise_email, ticket_open_for_customer
from crm.services.surveys import survey_answer_record

from .models import AssignRule, FormKind, WebForm, WebFormField, WebFormSubmission
from .targets import BUILT_IN, NEEDED, required_custom_keys


def webform_save(*, form: WebForm, fields: list[dict] | None = None) -> WebForm:
    """Save a form's settings and, when given, replace its fields with `fields` (rows of
    target, required, order, labels, help_texts), in one transaction."""
    with transaction.atomic():
        form.full_clean()
        form.save()
        if fields is not None:
            form.fields.all().delete()
            WebFormField.objects.bulk_create(
                WebFormField(form=form, **{"order": index, **row})
                for index, row in enumerate(fields)
            )
    return form


def webform_new(*, name: str, kind: str) -> WebForm:
    """A new form with the built-in fields of its kind, so it works as soon as it exists."""
    webform = WebForm(
        name=name,
        slug=_free_slug(name),
        kind=kind,
        survey_kind=SurveyKind.NPS if kind == FormKind.FEEDBACK else "",
        titles={},
    )
    needed = NEEDED[kind] | {"email"}
    rows = [
        {"target": target.key, "required": target.key in needed, "labels": {}, "help_texts": {}}
        for target in BUILT_IN[kind]
    ]
    rows += [
        {"target": key, "required": True, "labels": {}, "help_texts": {}}
        for key in sorted(required_custom_keys(kind))
    ]
    return webform_save(form=webform, fields=rows)


def _free_slug(name: str) -> str:
    base = slugify(name)[:50] or "form"
    slug, number = base, 2
    while WebForm.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


def submission_receive(
    *,
    form: WebForm,
    nonce: str,
    values: dict,
    utm: dict,
    language: str = "",
    ip_hash: str = "",
) -> tuple[WebFormSubmission, bool]:
    """Create the form's record from validated `values` and keep the submission.

    Returns (submission, created): the same page sent twice (its token's nonce, unique in the
    database) is the first submission, and nothing more is written.
    """
    received_at = timezone.now()
    try:
        with transaction.atomic():
            submission = WebFormSubmission.objects.create(
                form=form,
                nonce=nonce,
                received_at=received_at,
                data=_jsonable(values),
                utm=utm,
                language=language[:10],
                ip_hash=ip_hash,
            )
            # The record's events carry the campaign and UTM parameters, for the automations
            # and webhooks that consume them.
            with event_context(web_form=form.name, campaign=form.name, utm=utm):
                _create_record(form, submission, values)
            submission.save(update_fields=["lead", "ticket", "survey_answer", "contact"])
    except IntegrityError:
        existing = WebFormSubmission.objects.filter(nonce=nonce).first()
        if existing is None:
            raise
        return existing, False
    _notify_assignee(submission)
    return submission, True


def _jsonable(values: dict) -> dict:
    return {key: value for key, value in values.items() if value not in (None, "", [], {})}


def _create_record(form: WebForm, submission: WebFormSubmission, values: dict) -> None:
    email = normalise_email(values.get("email") or "")
    if form.kind == FormKind.LEAD:
        submission.contact = existing_contact(email)
        submission.lead = _lead_create(form, values, email, submission.received_at)
    elif form.kind == FormKind.TICKET:
        ticket = ticket_open_for_customer(
            actor=None,
            name=values.get("name") or email.partition("@")[0],
            email=email,
            subject=values["subject"],
            message=values["message"],
            channel=TicketChannel.WEB,
            assignee=assignee_for(form),
            custom=values.get("custom"),
        )
        submission.ticket, submission.contact = ticket, ticket.contact
    else:
        submission.contact = existing_contact(email)
        submission.survey_answer = survey_answer_record(
            kind=form.survey_kind or SurveyKind.NPS,
            score=values["score"],
            comment=values.get("comment") or "",
            contact=submission.contact,
        )


def existing_contact(email: str) -> Contact | None:
    """The oldest contact with this address, in any case (as the support desk matches)."""
    if not email:
        return None
    return Contact.objects.filter(email__iexact=email).order_by("pk").first()


def _lead_create(form: WebForm, values: dict, email: str, received_at) -> Lead:
    data = {
        "name": values["name"],
        "email": email,
        "phone": values.get("phone") or "",
        "company_name": values.get("company_name") or "",
        "source": LeadSource.WEB,
        # The lead response time KPI counts from here: the moment the visitor sent it.
        "created_at": received_at,
    }
    if values.get("custom"):
        data["custom"] = values["custom"]
    owner = assignee_for(form)
    if owner is not None:
        data["owner"] = owner
    if form.assign_rule != AssignRule.OWNER and form.team_id:
        data["team"] = form.team
    return record_create(Lead, actor=None, data=data)


def assignee_for(form: WebForm) -> User | None:
    """Who gets the form's next record: its owner, the next member of its team in turn, or
    nobody (the automations assign it)."""
    if form.assign_rule == AssignRule.OWNER:
        return form.owner if form.owner and form.owner.is_active else None
    if form.assign_rule == AssignRule.ROUND_ROBIN and form.team_id:
        return _next_in_turn(form)
    return None


def _next_in_turn(form: WebForm) -> User | None:
    with transaction.atomic():
        # Locked: two submissions at once take two turns, so two different people.
        turns = WebForm.objects.select_for_update().values_list("turns", flat=True).get(pk=form.pk)
        members = list(
            Team.objects.get(pk=form.team_id).members.filter(is_active=True).order_by("pk")
        )
        if not members:
            return None
        WebForm.objects.filter(pk=form.pk).update(turns=F("turns") + 1)
    return members[turns % len(members)]


def _notify_assignee(submission: WebFormSubmission) -> None:
    record = submission.lead or submission.ticket
    person = getattr(record, "owner", None) or getattr(record, "assignee", None)
    if record is None or person is None:
        return
    name = "lead-detail" if submission.lead else "ticket-detail"
    notify(
        recipients=[person],
        title=_("New from the web form “%(form)s”: %(record)s")
        % {"form": submission.form.name, "record": record},
        url=reverse(name, args=[record.pk]),
        kind="webform",
        key=f"webform-submission-{submission.pk}",
    )
