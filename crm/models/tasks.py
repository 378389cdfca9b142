from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .common import Timestamped, WithCustomFields


class TaskPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(Timestamped, WithCustomFields):
    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)
    priority = models.CharField(
        _("priority"), max_length=8, choices=TaskPriority, default=TaskPriority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=12, choices=TaskStatus, default=TaskStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent task"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subtasks",
    )
    # The record the task is about (at most one is usual, none is allowed).
    lead = models.ForeignKey(
        "crm.Lead",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("lead"),
    )
    contact = models.ForeignKey(
        "crm.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "crm.Company",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("company"),
    )
    deal = models.ForeignKey(
        "crm.Deal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("deal"),
    )
    ticket = models.ForeignKey(
        "crm.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("ticket"),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"]),
            # "My tasks" and "My day" read a user's open tasks in due order from this one.
            models.Index(
                fields=["assignee", "due_at", "id"],
                condition=Q(status__in=["open", "in_progress"]),
                name="task_open_by_assignee_due",
            ),
            # ... and the latest done ones from this one.
            models.Index(
                fields=["assignee", "-completed_at", "-id"],
                condition=Q(status="done"),
                name="task_done_by_assignee",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="done") & Q(completed_at__isnull=False))
                | (~Q(status="done") & Q(completed_at__isnull=True)),
                name="task_done_has_completed_time",
                violation_error_message=_("A done task needs its completion time."),
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=models.F("id")),
                name="task_not_its_own_parent",
                violation_error_message=_("A task cannot be a subtask of itself."),
            ),
        ]

    def __str__(self):
        return self.title
