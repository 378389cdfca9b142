from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import LoginEvent, User

from .events import event_record, events_record_same_change

# Foreign keys to a user, in any app, that say who is responsible for a row now: they move to
# the successor when the user leaves. Who did something (author, actor, created_by, a goal's
# person) is history and stays.
RESPONSIBILITY_FIELDS = ("owner", "assignee")
# Rows updated per statement (a database caps the parameters of one query).
CHUNK = 1000


@transaction.atomic
def login_record(*, user: User) -> LoginEvent:
    return LoginEvent.objects.create(user=user)


def responsibility_fields() -> list[models.ForeignKey]:
    """Every owner / assignee foreign key to the user model, across the installed apps."""
    return [
        field
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.many_to_one
        and field.name in RESPONSIBILITY_FIELDS
        and field.related_model._meta.label == settings.AUTH_USER_MODEL
    ]


def deactivate_user(user: User, *, reassign_to: User, by: User | None) -> dict[str, int]:
    """Hand every row `user` owns or is assigned (records, tasks, tickets, goals, dashboards…)
    to `reassign_to` and deactivate `user`, in one transaction with one event per moved row
    and a "user.deactivated" event. Returns the rows moved per model label.

    Users are never deleted (their records would lose their owner); this is how one leaves.
    """
    if reassign_to is None or reassign_to.pk == user.pk:
        raise ValidationError({"reassign_to": _("Choose someone else to take over.")})
    if by is not None and by.pk == user.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    with transaction.atomic():
        # Lock both people: the successor must still be active when the rows move.
        locked = {
            u.pk: u
            for u in User.objects.select_for_update().filter(pk__in=[user.pk, reassign_to.pk])
        }
        if not getattr(locked.get(reassign_to.pk), "is_active", False):
            raise ValidationError(
                {"reassign_to": _("Choose an active user to take over the records.")}
            )
        leaving = locked[user.pk]
        now = timezone.now()
        moved: dict[str, int] = {}
        for field in responsibility_fields():
            model = field.model
            ids = list(
                model._default_manager.select_for_update()
                .filter(**{field.attname: leaving.pk})
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not ids:
                continue
            values = {field.attname: reassign_to.pk}
            if any(f.name == "updated_at" for f in model._meta.concrete_fields):
                values["updated_at"] = now
            for start in range(0, len(ids), CHUNK):
                model._default_manager.filter(pk__in=ids[start : start + CHUNK]).update(**values)
            events_record_same_change(
                type=f"{model._meta.model_name}.updated",
                model=model,
                record_ids=ids,
                actor=by,
                changes={field.name: [leaving.pk, reassign_to.pk]},
            )
            moved[model._meta.label] = moved.get(model._meta.label, 0) + len(ids)
        was_active = leaving.is_active
        leaving.is_active = False
        leaving.save(update_fields=["is_active"])
        event_record(
            type="user.deactivated",
            instance=leaving,
            actor=by,
            changes={
                "is_active": [was_active, False],
                "reassigned_to": [None, reassign_to.pk],
                "reassigned": [None, moved],
            },
        )
    user.is_active = False
    return moved
