"""The admin: configuration models are fully editable; records are browsable and editable
except for the fields only services may change (stage, status, closing, conversion, SLA
times, lifecycle). Those are read-only here, so the admin can never bypass a service."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .custom_fields import validate_custom_values
from .forms.custom_field_definitions import CustomFieldDefinitionForm
from .models import (
    Activity,
    Article,
    ArticleCategory,
    Company,
    Contact,
    CustomField,
    Deal,
    DealStageChange,
    DedupeKey,
    Event,
    Expense,
    Lead,
    LoginEvent,
    Notification,
    Pipeline,
    SLAPolicy,
    Stage,
    StageOutcome,
    Subscription,
    SupportSettings,
    SurveyAnswer,
    SurveyInvitation,
    Task,
    Team,
    Ticket,
    TicketMessage,
    User,
)
from .services import custom_field_definitions as definitions
from .services.custom_field_definitions import FIELDS, FIXED_FIELDS
from .services.records import CREATE_ONLY_FIELDS, EDITABLE_FIELDS

MANAGED_BY_CRM = _("Set by the CRM")
MANAGED_BY_CRM_HELP = _("These fields change only through the CRM's own actions.")


class ReadOnlyAdminMixin:
    """History and outbox rows: written by services only, so the admin may look, not touch."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeletesThroughServices:
    """Deletes (the delete page, the bulk action, inline rows) go through record_delete: each
    leaves a "<type>.deleted" event, and a row that history points at is refused (the admin's
    own confirmation page lists what protects it; a row linked in the meantime is refused with
    the same list as a message)."""

    def delete_model(self, request, obj):
        services.record_delete(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset.order_by("pk"):
                services.record_delete(obj, actor=request.user)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.RecordInUse as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except services.RecordInUse as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            services.record_delete(obj, actor=request.user)
        for instance in instances:
            instance.save()
        formset.save_m2m()


class RecordAdminForm(forms.ModelForm):
    """Custom field values are checked against their definitions, as on every write path."""

    def clean_custom(self):
        values = self.cleaned_data.get("custom") or {}
        if not isinstance(values, dict):
            raise ValidationError(_("Enter an object of field keys and values."))
        # A new record needs its required values; an existing one keeps those it has (and
        # gets the values merged, as record_update will merge them).
        existing = dict(self.instance.custom or {}) if self.instance.pk else None
        try:
            return validate_custom_values(
                self._meta.model._meta.model_name, values, existing=existing
            )
        except ValidationError as error:
            raise ValidationError(
                [
                    f"{key}: {message}"
                    for key, messages in error.message_dict.items()
                    for message in messages
                ]
            ) from error


class WritesThroughServices(DeletesThroughServices):
    """Saves go through the same services as the app, so every admin change has its event."""

    form = RecordAdminForm
    # Fields a service chooses on creation (a deal's pipeline and stage) beside the data.
    creation_state_fields: list[str] = []

    def writable_fields(self, obj) -> set[str]:
        model = self.model
        fields = set(EDITABLE_FIELDS[model]) | {"custom"}
        if obj is None:
            fields |= set(CREATE_ONLY_FIELDS.get(model, [])) | set(self.creation_state_fields)
        return fields

    def get_readonly_fields(self, request, obj=None):
        writable = self.writable_fields(obj)
        model_fields = [
            f.name for f in self.model._meta.concrete_fields if f.editable and not f.primary_key
        ]
        read_only = [*super().get_readonly_fields(request, obj)]
        read_only += [n for n in model_fields if n not in writable and n not in read_only]
        return read_only

    def save_model(self, request, obj, form, change):
        writable = self.writable_fields(obj if change else None)
        if change:
            data = {n: form.cleaned_data[n] for n in form.changed_data if n in writable}
            original = self.model.objects.get(pk=obj.pk)
            self.update_record(original, actor=request.user, data=data)
            obj.refresh_from_db()
            return
        data = {n: v for n, v in form.cleaned_data.items() if n in writable and v not in (None, "")}
        state = {n: data.pop(n) for n in self.creation_state_fields if n in data}
        created = self.create_record(actor=request.user, data=data, **state)
        obj.pk = created.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def create_record(self, *, actor, data, **state):
        return services.record_create(self.model, actor=actor, data=data)

    def update_record(self, instance, *, actor, data):
        return services.record_update(instance, actor=actor, data=data)


class StageListFilter(admin.RelatedFieldListFilter):
    """A stage's label names its pipeline: load them together, not one query per stage."""

    def field_choices(self, field, request, model_admin):
        return [(stage.pk, str(stage)) for stage in Stage.objects.select_related("pipeline")]


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """The distinct values of an indexed column, found by jumping from one value to the next
    in its index (a recursive query: one index probe per value), where Django's
    `SELECT DISTINCT` sorted the whole table (57 ms a filter on 413k subscriptions).
    For a filter on a model's own column, over the whole table, as admins see it."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = _distinct_values(model, field)


def _distinct_values(model, field) -> list:
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(field.column)
    sql = (
        f"WITH RECURSIVE walk(value) AS ("
        f" SELECT MIN({column}) FROM {table}"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > walk.value)"
        f" FROM walk WHERE walk.value IS NOT NULL"
        f") SELECT value FROM walk WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


# Users, teams, logins


class DeactivateForm(forms.Form):
    reassign_to = forms.ModelChoiceField(
        label=_("Give their records to"),
        queryset=User.objects.none(),
        help_text=_(
            "Leads, contacts, companies, deals, tasks, tickets, goals and dashboards they own "
            "or are assigned move to this active user."
        ),
    )

    def __init__(self, *args, leaving, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = User.objects.filter(is_active=True).exclude(
            pk__in=[user.pk for user in leaving]
        )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users are deactivated with their records handed over, never deleted (their records
    would lose their owner): no delete page, a "Deactivate and reassign" action instead."""

    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "groups", "teams"]
    actions = ["deactivate_and_reassign"]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        read_only = list(super().get_readonly_fields(request, obj))
        # Leaving goes through the action, which hands the records over; coming back is free.
        if obj is not None and obj.is_active:
            read_only.append("is_active")
        return read_only

    @admin.action(description=_("Deactivate and reassign their records"), permissions=["change"])
    def deactivate_and_reassign(self, request, queryset):
        leaving = list(queryset.order_by("pk"))
        form = DeactivateForm(request.POST if "apply" in request.POST else None, leaving=leaving)
        if form.is_valid():
            successor = form.cleaned_data["reassign_to"]
            try:
                with transaction.atomic():
                    moved = sum(
                        sum(
                            services.deactivate_user(
                                user, reassign_to=successor, by=request.user
                            ).values()
                        )
                        for user in leaving
                    )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "%(users)d user deactivated; %(rows)d records now belong to %(to)s.",
                        "%(users)d users deactivated; %(rows)d records now belong to %(to)s.",
                        len(leaving),
                    )
                    % {"users": len(leaving), "rows": moved, "to": successor},
                    messages.SUCCESS,
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Deactivate and reassign"),
            "opts": self.model._meta,
            "form": form,
            "leaving": leaving,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/crm/user/deactivate_and_reassign.html", context)


@admin.register(Team)
class TeamAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["name", "manager"]
    list_filter = ["manager"]
    list_select_related = ["manager"]
    search_fields = ["name"]
    autocomplete_fields = ["manager"]
    filter_horizontal = ["members"]


@admin.register(LoginEvent)
class LoginEventAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["user", "at"]
    list_filter = ["at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]
    date_hierarchy = "at"


# Companies and contacts


@admin.register(Company)
class CompanyAdmin(WritesThroughServices, admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "size_band", "lifecycle", "owner", "team"]
    list_filter = ["lifecycle", "industry", "size_band", "team"]
    list_select_related = ["owner", "team"]
    search_fields = ["name", "domain"]
    autocomplete_fields = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = ["lifecycle", "customer_since", "churned_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "domain", "industry", "size_band", "address", "notes"]}),
        (_("Ownership"), {"fields": ["owner", "team"]}),
        (_("Custom fields"), {"fields": ["custom"], "classes": ["collapse"]}),
        (
            MANAGED_BY_CRM,
            {
                "description": MANAGED_BY_CRM_HELP,
                "fields": ["lifecycle", "customer_since", "churned_at", "created_at", "updated_at"],
            },
        ),
    ]


@admin.register(Contact)
class ContactAdmin(WritesThroughServices, admin.ModelAdmin):
    list_display = ["last_name", "first_name", "email", "phone", "company", "lifecycle_stage"]
    list_filter = ["lifecycle_stage", "team"]
    list_select_related = ["company"]
    search_fields = ["first_name", "last_name", "email", "phone", "company__name"]
    autocomplete_fields = ["company", "owner"]
    date_hierarchy = "created_at"
    readonly_fields = ["updated_at"]


# Leads


@admin.register(Lead)
class LeadAdmin(WritesThroughServices, admin.ModelAdmin):
    list_display = ["name", "company_name", "email", "source", "status", "score", "owner"]
    list_filter = ["status", "source", "team"]
    list_select_related = ["owner"]
    search_fields = ["name", "email", "phone", "company_name"]
    autocomplete_fields = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "status",
        "first_response_at",
        "qualified_at",
        "disqualified_reason",
        "converted_at",
        "converted_contact",
        "converted_company",
        "converted_deal",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "email", "phone", "company_name", "source", "score"]}),
        (_("Ownership"), {"fields": ["owner", "team"]}),
        (_("Custom fields"), {"fields": ["custom"], "classes": ["collapse"]}),
        (
            MANAGED_BY_CRM,
            {
                "description": MANAGED_BY_CRM_HELP,
                "fields": [
                    "status",
                    "first_response_at",
                    "qualified_at",
                    "disqualified_reason",
                    "converted_at",
                    "converted_contact",
                    "converted_company",
                    "converted_deal",
                    "created_at",
                    "updated_at",
                ],
            },
        ),
    ]


# Pipelines and deals


class StageInline(admin.TabularInline):
    model = Stage
    fields = ["name", "order", "probability", "outcome"]
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["name", "is_default", "order"]
    list_filter = ["is_default"]
    search_fields = ["name"]
    inlines = [StageInline]


@admin.register(Stage)
class StageAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["name", "pipeline", "order", "probability", "outcome"]
    list_filter = ["pipeline", "outcome"]
    list_select_related = ["pipeline"]
    search_fields = ["name", "pipeline__name"]


class DealStageChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DealStageChange
    fields = ["from_stage", "to_stage", "changed_at", "seconds_in_from_stage", "changed_by"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("from_stage__pipeline", "to_stage__pipeline", "changed_by")
        )


class DealAdminForm(RecordAdminForm):
    def clean(self):
        # The database refuses the mismatch too (migration 0005); say so as a form error.
        cleaned_data = super().clean()
        pipeline, stage = cleaned_data.get("pipeline"), cleaned_data.get("stage")
        if pipeline and stage and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", _("Pick a stage of the chosen pipeline."))
        return cleaned_data


@admin.register(Deal)
class DealAdmin(WritesThroughServices, admin.ModelAdmin):
    form = DealAdminForm
    creation_state_fields = ["pipeline", "stage"]

    def create_record(self, *, actor, data, pipeline=None, stage=None):
        return services.deal_create(actor=actor, data=data, pipeline=pipeline, stage=stage)

    list_display = [
        "name",
        "company",
        "pipeline",
        "stage",
        "amount",
        "currency",
        "kind",
        "status",
        "owner",
        "closed_at",
    ]
    list_filter = ["status", "kind", "pipeline", ("stage", StageListFilter), "team", "owner"]
    list_select_related = ["company", "pipeline", "stage__pipeline", "owner"]
    search_fields = ["name", "company__name", "contact__last_name", "contact__email"]
    autocomplete_fields = ["company", "contact", "source_lead", "owner"]
    date_hierarchy = "created_at"
    inlines = [DealStageChangeInline]
    readonly_fields = ["status", "closed_at", "lost_reason", "stage_entered_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "company", "contact", "source_lead"]}),
        (_("Stage"), {"fields": ["pipeline", "stage"]}),
        (_("Value"), {"fields": ["amount", "currency", "exchange_rate", "kind"]}),
        (_("Ownership"), {"fields": ["owner", "team", "expected_close_date"]}),
        (_("Custom fields"), {"fields": ["custom"], "classes": ["collapse"]}),
        (
            MANAGED_BY_CRM,
            {
                "description": MANAGED_BY_CRM_HELP,
                "fields": [
                    "status",
                    "stage_entered_at",
                    "closed_at",
                    "lost_reason",
                    "created_at",
                    "updated_at",
                ],
            },
        ),
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "stage":
            # Only on the add form: a new deal is open, so it starts in an open stage.
            kwargs["queryset"] = Stage.objects.filter(outcome=StageOutcome.OPEN).select_related(
                "pipeline"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(DealStageChange)
class DealStageChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["deal", "from_stage", "to_stage", "changed_at", "changed_by"]
    list_filter = [("to_stage", StageListFilter), "changed_at"]
    list_select_related = ["deal", "from_stage__pipeline", "to_stage__pipeline", "changed_by"]
    search_fields = ["deal__name"]
    date_hierarchy = "changed_at"


# Activities and tasks


@admin.register(Activity)
class ActivityAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["kind", "subject", "direction", "occurred_at", "user", "company", "deal"]
    list_filter = ["kind", "direction", "occurred_at"]
    list_select_related = ["user", "company", "deal"]
    search_fields = ["subject", "body", "company__name", "deal__name"]
    autocomplete_fields = ["user", "lead", "contact", "company", "deal", "ticket"]
    date_hierarchy = "occurred_at"


class SubtaskInline(admin.TabularInline):
    model = Task
    fk_name = "parent"
    verbose_name = _("subtask")
    verbose_name_plural = _("subtasks")
    fields = ["title", "assignee", "due_at", "priority", "status", "completed_at"]
    autocomplete_fields = ["assignee"]
    show_change_link = True
    extra = 0


@admin.register(Task)
class TaskAdmin(WritesThroughServices, admin.ModelAdmin):
    def create_record(self, *, actor, data):
        return services.task_create(actor=actor, data=data)

    def update_record(self, instance, *, actor, data):
        return services.task_update(task=instance, actor=actor, data=data)

    list_display = ["title", "status", "priority", "due_at", "assignee", "parent"]
    list_filter = ["status", "priority", "due_at"]
    list_select_related = ["assignee", "parent"]
    search_fields = ["title", "notes"]
    autocomplete_fields = [
        "assignee",
        "created_by",
        "parent",
        "lead",
        "contact",
        "company",
        "deal",
        "ticket",
    ]
    inlines = [SubtaskInline]
    readonly_fields = ["updated_at"]


# Support


class TicketMessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TicketMessage
    fields = ["created_at", "author_kind", "author", "is_internal", "body"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


@admin.register(Ticket)
class TicketAdmin(WritesThroughServices, admin.ModelAdmin):
    def create_record(self, *, actor, data):
        return services.ticket_create(actor=actor, data=data)

    def update_record(self, instance, *, actor, data):
        return services.ticket_update(ticket=instance, actor=actor, data=data)

    list_display = [
        "subject",
        "company",
        "contact",
        "channel",
        "priority",
        "status",
        "assignee",
        "created_at",
        "resolution_due_at",
        "resolved_at",
    ]
    list_filter = ["status", "priority", "channel", "team", "assignee"]
    list_select_related = ["company", "contact", "assignee"]
    search_fields = ["subject", "description", "company__name", "contact__email"]
    autocomplete_fields = ["contact", "company", "assignee"]
    date_hierarchy = "created_at"
    inlines = [TicketMessageInline]
    readonly_fields = [
        "status",
        "first_response_at",
        "resolved_at",
        "reopen_count",
        "agent_reply_count",
        "first_response_due_at",
        "resolution_due_at",
        "sla_breached_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["subject", "description", "contact", "company", "channel"]}),
        (_("Handling"), {"fields": ["priority", "assignee", "team"]}),
        (_("Custom fields"), {"fields": ["custom"], "classes": ["collapse"]}),
        (
            MANAGED_BY_CRM,
            {
                "description": MANAGED_BY_CRM_HELP,
                "fields": [
                    "status",
                    "first_response_due_at",
                    "resolution_due_at",
                    "first_response_at",
                    "resolved_at",
                    "sla_breached_at",
                    "reopen_count",
                    "agent_reply_count",
                    "created_at",
                    "updated_at",
                ],
            },
        ),
    ]


@admin.register(TicketMessage)
class TicketMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Messages set a ticket's response times and reply counts: services write them."""

    list_display = ["ticket", "author_kind", "author", "is_internal", "created_at"]
    list_filter = ["author_kind", "is_internal"]
    list_select_related = ["ticket", "author"]
    search_fields = ["body", "ticket__subject"]
    date_hierarchy = "created_at"


@admin.register(SLAPolicy)
class SLAPolicyAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["priority", "first_response_hours", "resolution_hours"]
    list_filter = ["priority"]
    search_fields = ["priority"]


@admin.register(SupportSettings)
class SupportSettingsAdmin(DeletesThroughServices, admin.ModelAdmin):
    """One row: the team new tickets without a team are routed to (issue 15, item 7)."""

    list_display = ["__str__", "default_team", "updated_at"]
    list_select_related = ["default_team"]
    list_filter = ["default_team"]
    search_fields = ["default_team__name"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not SupportSettings.objects.exists()

    def save_model(self, request, obj, form, change):
        saved = services.support_settings_update(actor=request.user, default_team=obj.default_team)
        obj.pk, obj.updated_at = saved.pk, saved.updated_at


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["kind", "score", "contact", "company", "ticket", "answered_at"]
    list_filter = ["kind", "score"]
    list_select_related = ["contact", "company", "ticket"]
    search_fields = ["comment", "company__name", "contact__email"]
    autocomplete_fields = ["contact", "company", "ticket"]
    date_hierarchy = "answered_at"


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Invitations are created and spent by the survey services; the token stays hidden."""

    list_display = ["kind", "email", "company", "ticket", "created_at", "sent_at", "answered_at"]
    list_filter = ["kind", "sent_at", "answered_at"]
    list_select_related = ["company", "ticket"]
    search_fields = ["email", "company__name"]
    exclude = ["token"]
    date_hierarchy = "created_at"


# Knowledge base


@admin.register(ArticleCategory)
class ArticleCategoryAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = ["name", "slug", "order"]
    list_filter = ["order"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Article)
class ArticleAdmin(DeletesThroughServices, admin.ModelAdmin):
    """Saves go through the knowledge services (publication time, event row)."""

    list_display = ["title", "category", "status", "published_at", "updated_at"]
    list_filter = ["status", "category"]
    list_select_related = ["category"]
    search_fields = ["title", "summary", "body"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["published_at", "author", "created_at", "updated_at"]
    fields = ["title", "slug", "category", "summary", "body", "status", *readonly_fields]

    def save_model(self, request, obj, form, change):
        fields = ["title", "slug", "category", "summary", "body", "status"]
        if change:
            data = {n: form.cleaned_data[n] for n in form.changed_data if n in fields}
            services.article_update(
                article=Article.objects.get(pk=obj.pk), actor=request.user, data=data
            )
        else:
            data = {n: form.cleaned_data[n] for n in fields if n in form.cleaned_data}
            obj.pk = services.article_create(actor=request.user, data=data).pk
            obj._state.adding = False
        obj.refresh_from_db()


# Revenue and spend


@admin.register(Subscription)
class SubscriptionAdmin(DeletesThroughServices, admin.ModelAdmin):
    list_display = [
        "company",
        "plan_name",
        "monthly_value",
        "currency",
        "start_date",
        "end_date",
        "term_end",
        "status",
    ]
    list_filter = [
        "status",
        ("plan_name", IndexedValuesFilter),
        ("currency", IndexedValuesFilter),
    ]
    list_select_related = ["company"]
    search_fields = ["plan_name", "company__name"]
    autocomplete_fields = ["company"]
    date_hierarchy = "start_date"
    readonly_fields = ["status", "cancelled_at", "renewal_of", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "company",
                    "plan_name",
                    "monthly_value",
                    "currency",
                    "start_date",
                    "end_date",
                    "term_end",
                ]
            },
        ),
        (
            MANAGED_BY_CRM,
            {
                "description": MANAGED_BY_CRM_HELP,
                "fields": ["status", "cancelled_at", "renewal_of", "created_at", "updated_at"],
            },
        ),
    ]


@admin.register(Expense)
class ExpenseAdmin(WritesThroughServices, admin.ModelAdmin):
    list_display = ["spent_on", "category", "amount", "currency", "description"]
    list_filter = ["category", "currency"]
    search_fields = ["description"]
    date_hierarchy = "spent_on"
    readonly_fields = ["updated_at"]


# Configuration and the outbox


@admin.register(CustomField)
class CustomFieldAdmin(DeletesThroughServices, admin.ModelAdmin):
    # Options are typed one per line (reordered by moving lines), not as JSON.
    form = CustomFieldDefinitionForm
    list_display = ["label", "key", "record_type", "field_type", "required", "is_active", "order"]
    list_filter = ["record_type", "field_type", "is_active"]
    search_fields = ["label", "key"]
    prepopulated_fields = {"key": ["label"]}

    # Through the settings pages' services: events, and a sortable field's sort indexes made
    # and dropped (PostgreSQL).
    def get_readonly_fields(self, request, obj=None):
        return FIXED_FIELDS if obj is not None else ()

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else super().get_prepopulated_fields(request, obj)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in FIELDS}
        if change:
            field = CustomField.objects.get(pk=obj.pk)
            definitions.custom_field_update(field=field, actor=request.user, data=data)
        else:
            data = {name: value for name, value in form.cleaned_data.items() if name in FIELDS}
            obj.pk = definitions.custom_field_create(actor=request.user, data=data).pk
            obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        definitions.custom_field_delete(field=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for field in queryset.order_by("pk"):
                definitions.custom_field_delete(field=field, actor=request.user)


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["type", "record_type", "record_id", "actor", "occurred_at", "dispatched_at"]
    list_filter = ["type", "record_type"]
    list_select_related = ["actor"]
    search_fields = ["type", "record_type", "record_id__exact"]
    date_hierarchy = "occurred_at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "recipient", "kind", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]
    search_fields = ["title", "recipient__username"]
    date_hierarchy = "created_at"


@admin.register(DedupeKey)
class DedupeKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which contact holds an email and which company a domain or name (see services.dedupe)."""

    list_display = ["scope", "key", "object_id", "created_at"]
    list_filter = ["scope"]
    search_fields = ["key"]
    date_hierarchy = "created_at"
