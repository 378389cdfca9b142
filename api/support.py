"""The support desk's resources (issue 12): tickets with their messages and their transitions.

Tickets are read through crm.access (a ticket the user may not see is a 404 on every route,
the actions included) and change only through the support services, each transition an
explicit action with its own input: `reply`, `note`, `resolve`, `reopen`. A refused transition
answers 400 with the service's own message and writes nothing.
"""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from crm import services
from crm.filters import CustomFieldFilterSet
from crm.forms.tickets import assignable_users
from crm.limits import ARTICLE_MAX_LENGTH, MESSAGE_MAX_LENGTH
from crm.models import (
    Article,
    ArticleCategory,
    ArticleStatus,
    Company,
    Contact,
    SurveyAnswer,
    Ticket,
    TicketChannel,
    TicketMessage,
    TicketPriority,
    TicketStatus,
    User,
)

from .base import FieldsMixin, RecordViewSet
from .filters import UtcIsoDateTimeFilter
from .reading import ReadOnlyRecordViewSet, visible_choice, visible_team_choice
from .record_serializers import RecordSerializer, VisibleRelatedField, checked_custom
from .records import ApiCustomFilters
from .services import ticket_open


class TicketSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "description",
            "status",
            "priority",
            "channel",
            "contact",
            "company",
            "assignee",
            "team",
            "first_response_at",
            "resolved_at",
            "reopen_count",
            "agent_reply_count",
            "first_response_due_at",
            "resolution_due_at",
            "sla_breached_at",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TicketMessageSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = TicketMessage
        fields = ["id", "ticket", "author_kind", "author", "is_internal", "body", "created_at"]
        read_only_fields = fields


class TicketCreateSerializer(serializers.Serializer):
    """The agents' "new ticket" form: the customer by email (their contact, or a new one),
    what they asked, channel, priority, an assignee the user may give tickets to; `custom`
    validated as for any new record."""

    email = serializers.EmailField(max_length=254, help_text=_("The customer's email address."))
    name = serializers.CharField(max_length=200, help_text=_("The customer's name."))
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=MESSAGE_MAX_LENGTH, help_text=_("What the customer asked.")
    )
    channel = serializers.ChoiceField(choices=TicketChannel.choices, default=TicketChannel.PHONE)
    priority = serializers.ChoiceField(
        choices=TicketPriority.choices, default=TicketPriority.NORMAL
    )
    assignee = VisibleRelatedField(choices=assignable_users)
    custom = serializers.JSONField(required=False)

    def validate_custom(self, value):
        return checked_custom("ticket", value, existing=None)

    def validate(self, attrs):
        if "custom" not in attrs:
            try:
                checked_custom("ticket", {}, existing=None)
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"custom": error.detail}) from error
        return attrs


class TicketUpdateSerializer(RecordSerializer):
    """What the ticket page's handling box changes (assignee, priority), and `custom`."""

    owner = None
    team = None
    assignee = VisibleRelatedField(choices=assignable_users)
    transition_fields = {"status": "/api/tickets/{id}/reply/, /resolve/ or /reopen/"}

    class Meta:
        model = Ticket
        # The answer is the whole ticket (TicketSerializer); these are what may be sent.
        fields = ["id", "assignee", "priority", "custom"]
        read_only_fields = ["id"]


class TicketFilter(ApiCustomFilters, CustomFieldFilterSet):
    """As the records: `?q=`, and `?cf_<key>=` (with `__gte`/`__lte` for numbers and dates)."""

    record_type = "ticket"
    search_fields = ("subject", "description")
    assignee = visible_choice(User)
    contact = visible_choice(Contact)
    company = visible_choice(Company)
    team = visible_team_choice()

    class Meta:
        model = Ticket
        fields = ["status", "priority", "channel", "assignee", "team", "contact", "company"]


class ReplyInput(serializers.Serializer):
    body = serializers.CharField(
        max_length=MESSAGE_MAX_LENGTH, allow_blank=True, trim_whitespace=False
    )
    status = serializers.ChoiceField(
        choices=[TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED],
        required=False,
        help_text=_("Set the status with the reply; resolved resolves the ticket after it."),
    )


class NoteInput(serializers.Serializer):
    body = serializers.CharField(
        max_length=MESSAGE_MAX_LENGTH, allow_blank=True, trim_whitespace=False
    )


class NoInput(serializers.Serializer):
    pass


class TicketViewSet(RecordViewSet):
    """Tickets the user sees. Opened and edited as on the ticket pages (the create form, the
    handling box); replies, notes, resolve and reopen are actions through the services. The
    pages delete no ticket, so neither does the API."""

    model = Ticket
    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    ordering_fields = ["id", "created_at", "updated_at", "priority", "status"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        if self.action == "create":
            return TicketCreateSerializer
        if self.action == "partial_update":
            return TicketUpdateSerializer
        return super().get_serializer_class()

    def detail_data(self, instance) -> dict:
        return TicketSerializer(instance, context=self.get_serializer_context()).data

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketSerializer})
    def create(self, request, *args, **kwargs):
        """Open a ticket for a customer's email address (their contact, or a new one), as the
        agents' "new ticket" page does."""
        return super().create(request, *args, **kwargs)

    @extend_schema(request=TicketUpdateSerializer, responses=TicketSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Assignee, priority and custom fields, as the ticket page's handling box; the status
        changes only through the actions."""
        return super().partial_update(request, *args, **kwargs)

    def create_record(self, data: dict):
        return ticket_open(actor=self.request.user, data=data)

    def update_record(self, instance, data: dict):
        return services.ticket_update(ticket=instance, actor=self.request.user, data=data)

    @extend_schema(request=ReplyInput, responses=TicketSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def reply(self, request, pk=None):
        """A public reply to the customer (emailed), optionally setting the status."""

        def run(ticket, data):
            services.ticket_agent_reply(
                ticket=ticket, actor=request.user, body=data["body"], status=data.get("status")
            )

        return self.transition(request, ReplyInput, run)

    @extend_schema(request=NoteInput, responses=TicketSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def note(self, request, pk=None):
        """An internal note: not sent to the customer, not a response."""

        def run(ticket, data):
            services.ticket_agent_reply(
                ticket=ticket, actor=request.user, body=data["body"], internal=True
            )

        return self.transition(request, NoteInput, run)

    @extend_schema(request=None, responses=TicketSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def resolve(self, request, pk=None):
        """Resolve the ticket (the customer is sent the satisfaction survey)."""

        def run(ticket, data):
            services.ticket_resolve_and_survey(ticket=ticket, actor=request.user)

        return self.transition(request, NoInput, run)

    @extend_schema(request=None, responses=TicketSerializer)
    @action(detail=True, methods=["post"], permission_action="change")
    def reopen(self, request, pk=None):
        """Reopen a resolved or closed ticket."""

        def run(ticket, data):
            services.ticket_reopen(ticket=ticket, actor=request.user)

        return self.transition(request, NoInput, run)

    @extend_schema(responses=TicketMessageSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=TicketMessageSerializer)
    def messages(self, request, pk=None):
        """The ticket's messages, newest first."""
        ticket = self.get_object()
        # The messages' own order: the tickets' ?ordering= names no field of a message.
        page = self.paginator.paginate_queryset(ticket.messages.order_by("-id"), request)
        serializer = TicketMessageSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)


# Survey answers and the knowledge base: read only ------------------------------------------


class SurveyAnswerSerializer(FieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = SurveyAnswer
        fields = ["id", "kind", "score", "comment", "contact", "company", "ticket", "answered_at"]
        read_only_fields = fields


class SurveyAnswerFilter(django_filters.FilterSet):
    contact = visible_choice(Contact)
    company = visible_choice(Company)
    ticket = visible_choice(Ticket)
    answered_after = UtcIsoDateTimeFilter(field_name="answered_at", lookup_expr="gte")
    answered_before = UtcIsoDateTimeFilter(field_name="answered_at", lookup_expr="lt")

    class Meta:
        model = SurveyAnswer
        fields = ["kind", "contact", "company", "ticket"]


class SurveyAnswerViewSet(ReadOnlyRecordViewSet):
    """NPS and CSAT answers on the contacts, companies and tickets the user sees."""

    model = SurveyAnswer
    serializer_class = SurveyAnswerSerializer
    filterset_class = SurveyAnswerFilter
    ordering_fields = ["id", "answered_at", "score"]


class ArticleSerializer(FieldsMixin, serializers.ModelSerializer):
    """An article as the knowledge pages' form writes it; the slug is made from the title
    when left out, and `published_at` is stamped by the service."""

    body = serializers.CharField(max_length=ARTICLE_MAX_LENGTH)
    slug = serializers.SlugField(max_length=200, required=False, allow_blank=True)
    category = serializers.PrimaryKeyRelatedField(
        queryset=ArticleCategory.objects.all(), required=False, allow_null=True
    )
    status = serializers.ChoiceField(choices=ArticleStatus.choices, required=False)

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "slug",
            "category",
            "summary",
            "body",
            "status",
            "published_at",
            "author",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["published_at", "author", "created_at", "updated_at"]


class ArticleFilter(django_filters.FilterSet):
    class Meta:
        model = Article
        fields = ["status", "category"]


class ArticleViewSet(RecordViewSet):
    """Knowledge articles, drafts included, for the roles that read them on the pages; written
    by the roles the pages let write (add/change), deleted by those holding `delete`."""

    model = Article
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilter
    ordering_fields = ["id", "title", "published_at", "updated_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Article.objects.none()
        # The knowledge base has no per-record rule: the role's permissions decide.
        return self.base_queryset()

    def create_record(self, data: dict):
        return services.article_create(actor=self.request.user, data=data)

    def update_record(self, instance, data: dict):
        return services.article_update(article=instance, actor=self.request.user, data=data)
