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
from crm.limits import MESSAGE_MAX_LENGTH
from crm.models import (
    Article,
    Company,
    Contact,
    SurveyAnswer,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
)

from .base import FieldsMixin
from .reading import ReadOnlyRecordViewSet, visible_choice, visible_team_choice
from .records import ApiCustomFilters


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


class TicketViewSet(ReadOnlyRecordViewSet):
    """Tickets the user sees; replies, notes, resolve and reopen through the services."""

    model = Ticket
    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    ordering_fields = ["id", "created_at", "updated_at", "priority", "status"]

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
    answered_after = django_filters.IsoDateTimeFilter(field_name="answered_at", lookup_expr="gte")
    answered_before = django_filters.IsoDateTimeFilter(field_name="answered_at", lookup_expr="lt")

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
        read_only_fields = fields


class ArticleFilter(django_filters.FilterSet):
    class Meta:
        model = Article
        fields = ["status", "category"]


class ArticleViewSet(ReadOnlyRecordViewSet):
    """Knowledge articles, drafts included, for the roles that read them on the pages."""

    model = Article
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilter
    ordering_fields = ["id", "title", "published_at", "updated_at"]

    def readable(self, queryset):
        # The knowledge base has no per-record rule: the role's view permission decides.
        return queryset
