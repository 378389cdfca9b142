from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from crm.languages import language_choices


class Role(models.TextChoices):
    """The four roles; each is a Group of the same name holding its permissions."""

    SALES_REP = "Sales rep", _("Sales rep")
    SUPPORT_AGENT = "Support agent", _("Support agent")
    MANAGER = "Manager", _("Manager")
    ADMIN = "Admin", _("Admin")


class User(AbstractUser):
    # Per-user choices such as the columns shown on each list page, keyed by page.
    preferences = models.JSONField(_("preferences"), default=dict, blank=True)
    # Empty: the browser's language (crm/languages.py).
    language = models.CharField(
        _("language"), max_length=10, choices=language_choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["first_name", "last_name", "username"]

    def __str__(self):
        return self.get_full_name() or self.username

    @cached_property
    def role_names(self) -> list[str]:
        # Cached for the life of this object (one request), so role checks cost one query.
        return [group.name for group in self.groups.all()]

    @property
    def role_label(self) -> str:
        if self.is_superuser and not self.role_names:
            return str(Role.ADMIN.label)
        labels = dict(Role.choices)
        return ", ".join(str(labels.get(name, name)) for name in self.role_names)

    def has_role(self, role: Role) -> bool:
        return role in self.role_names


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        User,
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
    )
    members = models.ManyToManyField(
        User, verbose_name=_("members"), related_name="teams", blank=True
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self):
        return self.name


class LoginEvent(models.Model):
    """One successful login: the facts behind the `logins` and `active_users` KPIs."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.PROTECT, related_name="login_events"
    )
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("login")
        verbose_name_plural = _("logins")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.user} @ {self.at:%Y-%m-%d %H:%M}"
