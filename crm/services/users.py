from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import LoginEvent, Role, Team, User

from .dispatch import enqueue_on_commit
from .events import changes_between, event_record, events_record_same_change, snapshot

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


# Inviting and changing people (the admins' settings pages)

USER_FIELDS = ("username", "first_name", "last_name", "email")


def user_invite(*, actor: User | None, data: dict, role: str, teams: list[Team]) -> User:
    """A new active user with the role and teams, and no password: once the transaction
    commits they are emailed a link to choose one (Django's password-reset token)."""
    data = _user_data(data)
    try:
        return _invite(actor=actor, data=data, role=role, teams=teams)
    except IntegrityError as error:
        # The same username sent twice at once: the uniqueness check passed for both.
        raise ValidationError({"username": _("A user with that username already exists.")}) from (
            error
        )


def _invite(*, actor: User | None, data: dict, role: str, teams: list[Team]) -> User:
    user = User(**data)
    user.set_unusable_password()
    with transaction.atomic():
        _check_email_free(data["email"], exclude=None)
        group = _role_group(role)
        user.full_clean()
        user.save()
        user.groups.add(group)
        user.teams.set(teams)
        event_record(
            type="user.invited",
            instance=user,
            actor=actor,
            changes={
                **{name: [None, value] for name, value in data.items()},
                "role": [None, role],
                "teams": [None, sorted(team.pk for team in teams)],
            },
        )
        enqueue_on_commit("send_invitation_email", user.pk)
    return user


def user_invite_again(*, user: User, actor: User | None) -> None:
    """Send the invitation link again to someone who has not chosen a password yet."""
    if not user.is_active or user.has_usable_password():
        raise ValidationError(_("Only an active user who has not chosen a password is invited."))
    with transaction.atomic():
        event_record(type="user.invited_again", instance=user, actor=actor, changes={})
        enqueue_on_commit("send_invitation_email", user.pk)


def user_update(
    *, user: User, actor: User | None, data: dict, role: str, teams: list[Team]
) -> User:
    """Change a user's name, email, role (their one role group) and teams."""
    data = _user_data(data, fields=("first_name", "last_name", "email"), email_required=False)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        old_roles = [name for name in user.role_names if name in Role.values]
        demoting_self = actor is not None and actor.pk == user.pk and role != Role.ADMIN
        if demoting_self and Role.ADMIN in old_roles:
            raise ValidationError({"role": _("You cannot take away your own admin role.")})
        if data["email"] and data["email"].lower() != user.email.lower():
            _check_email_free(data["email"], exclude=user.pk)
        before = snapshot(user, list(data))
        for name, value in data.items():
            setattr(user, name, value)
        user.full_clean()
        changes = changes_between(before, snapshot(user, list(data)))
        if changes:
            user.save(update_fields=list(changes))
        if old_roles != [role]:
            group = _role_group(role)
            user.groups.remove(*user.groups.filter(name__in=Role.values))
            user.groups.add(group)
            changes["role"] = [old_roles, [role]]
        old_teams = sorted(user.teams.values_list("pk", flat=True))
        new_teams = sorted({team.pk for team in teams})
        if old_teams != new_teams:
            user.teams.set(new_teams)
            changes["teams"] = [old_teams, new_teams]
        if changes:
            event_record(type="user.updated", instance=user, actor=actor, changes=changes)
    return user


def email_invitation(*, user_id: int) -> bool:
    """Email the invitation: a link to choose a password, made by Django's password-reset
    machinery (token, confirm page). False when there is no one to invite any more."""
    from django.contrib.auth.forms import PasswordResetForm
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email or user.has_usable_password():
        return False
    base = urlsplit(settings.CRM_BASE_URL)
    context = {
        "email": user.email,
        "domain": base.netloc,
        "site_name": base.netloc,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": base.scheme or "https",
    }
    PasswordResetForm().send_mail(
        "registration/invitation_subject.txt",
        "registration/invitation_email.txt",
        context,
        None,
        user.email,
    )
    return True


def _user_data(
    data: dict, fields: tuple[str, ...] = USER_FIELDS, *, email_required: bool = True
) -> dict:
    extra = sorted(set(data) - set(fields))
    if extra:
        raise ValidationError({name: _("This field cannot be set here.") for name in extra})
    data = {name: (data.get(name) or "").strip() for name in fields}
    if email_required and not data["email"]:
        raise ValidationError({"email": _("An invitation needs an email address.")})
    local, _at, domain = data["email"].rpartition("@")
    data["email"] = f"{local}@{domain.lower()}" if local else data["email"]
    return data


def _check_email_free(email: str, *, exclude: int | None) -> None:
    others = User.objects.filter(email__iexact=email)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise ValidationError({"email": _("Another user has this email address.")})


def _role_group(role: str) -> Group:
    group = Group.objects.filter(name=role).first() if role in Role.values else None
    if group is None:
        raise ValidationError({"role": _("Choose one of the roles.")})
    return group
