"""KPI values and snapshots (issue 12): the same numbers as the KPI page, read the same way.

- `GET /api/kpis/`: the registry (key, name, definition, unit, direction).
- `GET /api/kpis/<key>/?from=&to=&segment=` (or `?grain=&date=`): the value the KPI page shows
  for that period and segment at this moment, through metrics.numbers.Reader (live while the
  period runs, its snapshot once over), with its band and a link to the KPI page, whose
  records are the drill-down.
- `GET /api/kpi-snapshots/?kpi=&grain=&from=&to=&segment=`: the stored rows; grain `mtd` is a
  month from its first day to `period_end` (what a running month is compared with).

The period and segment are validated by the KPI page's own form (metrics.forms), and who reads
which segment is the pages' rule (metrics.dashboards.can_view_segment): a segment the user may
not read answers 404, as the page does; bad dates or segments are 400 with field errors,
before anything is computed.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.dashboards import (
    can_view_segment,
    default_segment,
    effective_bands,
    kpi_url,
    parse_segment,
    segment_param,
    supports,
)
from metrics.fill import MONTH_TO_DATE, SNAPSHOT_GRAINS
from metrics.forms import PeriodSegmentForm
from metrics.models import KPISnapshot
from metrics.numbers import Reader, readable_snapshots
from metrics.registry import REGISTRY, all_kpis

from .base import ApiCursorPagination, FieldsMixin

# The API's names for the KPI page's GET parameters (from/to are its custom range).
PERIOD_PARAMS = {"from": "start", "to": "end", "grain": "grain", "date": "date"}
FORM_TO_API = {form: api for api, form in PERIOD_PARAMS.items()} | {"__all__": "non_field_errors"}

PERIOD_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day of a custom range."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of a custom range."),
    OpenApiParameter(
        "grain",
        OpenApiTypes.STR,
        enum=["day", "week", "month", "quarter", "year", "custom"],
        description="Period length; `custom` with from/to (the default when they are given).",
    ),
    OpenApiParameter("date", OpenApiTypes.DATE, description="A day inside the period."),
    OpenApiParameter(
        "segment",
        OpenApiTypes.STR,
        description="`field=value`, e.g. `owner=3` or `team=2`; empty for the whole company "
        "(managers and admins). Default: the KPI page's default for the user.",
    ),
]


def _get_kpi(key: str):
    all_kpis()
    kpi = REGISTRY.get(key)
    if kpi is None:
        raise Http404
    return kpi


def _field_errors(form) -> dict:
    return {FORM_TO_API.get(name, name): errors for name, errors in form.errors.items()}


def period_and_segment(request):
    """The period and segment the KPI page would read for the same query, or 400 / 404."""
    params = request.query_params
    data = {form: params[api] for api, form in PERIOD_PARAMS.items() if api in params}
    if "segment" in params:
        data["segment"] = params["segment"]
    if ("start" in data or "end" in data) and "grain" not in data:
        data["grain"] = "custom"
    data.setdefault("grain", "month")
    form = PeriodSegmentForm(data, user=request.user, default_segment=default_segment(request.user))
    if not form.is_valid():
        raise serializers.ValidationError(_field_errors(form))
    segment = form.cleaned_data["segment"]
    if not can_view_segment(request.user, segment):
        # Another team's numbers: as for a record of another team, they do not exist here.
        raise Http404
    return form.cleaned_data["period"], segment


class KPISerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField(source="label")
    definition = serializers.CharField(source="description")
    unit = serializers.CharField()
    direction = serializers.SerializerMethodField()
    group = serializers.CharField()

    def get_direction(self, kpi) -> str:
        return "higher_is_better" if kpi.higher_is_better else "lower_is_better"


class KPIPageSerializer(serializers.Serializer):
    """The lists' envelope; the registry is small enough to be one page (no next)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = KPISerializer(many=True)


class PeriodSerializer(serializers.Serializer):
    grain = serializers.CharField()
    start = serializers.DateField(source="start_date")
    end = serializers.DateField(source="end_date", help_text="The last day of the period.")


class KPIValueSerializer(serializers.Serializer):
    kpi = KPISerializer()
    period = PeriodSerializer()
    segment = serializers.CharField()
    value = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    numerator = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    denominator = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    band = serializers.CharField(allow_null=True)
    source = serializers.ChoiceField(
        choices=["live", "snapshot"],
        help_text="live: computed from the records (a running period or one not yet stored); "
        "snapshot: the stored number of a period that is over.",
    )
    computed_at = serializers.DateTimeField(allow_null=True)
    records_url = serializers.URLField(help_text="The KPI page: its drill-down lists the records.")


class KPIListView(APIView):
    """The KPIs of the registry."""

    @extend_schema(operation_id="kpis_list", responses=KPIPageSerializer)
    def get(self, request):
        kpis = sorted(all_kpis(), key=lambda kpi: kpi.key)
        return Response(
            {"next": None, "previous": None, "results": KPISerializer(kpis, many=True).data}
        )


class KPIValueView(APIView):
    """A KPI's value for a period and segment: the number of its KPI page at this moment."""

    @extend_schema(
        operation_id="kpis_value", parameters=PERIOD_PARAMETERS, responses=KPIValueSerializer
    )
    def get(self, request, key: str):
        kpi = _get_kpi(key)
        period, segment = period_and_segment(request)
        if not supports(kpi, segment):
            raise serializers.ValidationError(
                {"segment": [_("This KPI cannot be split by that segment.")]}
            )
        reading = Reader().read([(kpi, period, segment)])[0]
        bands = effective_bands([kpi.key])[kpi.key]
        result = reading.result
        value = {
            "kpi": kpi,
            "period": period,
            "segment": segment_param(segment),
            "value": result.value,
            "numerator": result.numerator,
            "denominator": result.denominator,
            "band": bands.band_for(result.value) if bands else None,
            "source": "snapshot" if reading.computed_at else "live",
            "computed_at": reading.computed_at,
            "records_url": request.build_absolute_uri(kpi_url(kpi.key, period, segment)),
        }
        return Response(KPIValueSerializer(value).data)


class SnapshotSerializer(FieldsMixin, serializers.ModelSerializer):
    segment = serializers.SerializerMethodField()

    class Meta:
        model = KPISnapshot
        fields = [
            "id",
            "kpi",
            "grain",
            "period_start",
            "period_end",
            "segment",
            "value",
            "numerator",
            "denominator",
            "computed_at",
        ]
        read_only_fields = fields

    def get_segment(self, row) -> str:
        return f"{row.segment_field}={row.segment_value}" if row.segment_field else ""


STORED_GRAINS = [*SNAPSHOT_GRAINS, MONTH_TO_DATE]


class SnapshotQuery(serializers.Serializer):
    kpi = serializers.CharField(required=False, max_length=50)
    grain = serializers.ChoiceField(choices=STORED_GRAINS, required=False)
    # `from`/`to` are Python keywords: declared below.
    segment = serializers.CharField(required=False, allow_blank=True, max_length=300)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)
        fields["to"] = serializers.DateField(required=False)
        return fields

    def validate_kpi(self, key):
        all_kpis()
        if key not in REGISTRY:
            raise serializers.ValidationError(_("Unknown KPI."))
        return key

    def validate_segment(self, text):
        try:
            return parse_segment(text)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["to"] < attrs["from"]:
            raise serializers.ValidationError(
                {"to": [_("The end date comes before the start date.")]}
            )
        return attrs


class SnapshotListView(ListAPIView):
    """Stored KPI numbers of finished fills (what the pages read for periods that are over),
    newest first. Without `segment`, the KPI page's default for the user."""

    serializer_class = SnapshotSerializer
    pagination_class = ApiCursorPagination
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("kpi", OpenApiTypes.STR),
            OpenApiParameter("grain", OpenApiTypes.STR, enum=STORED_GRAINS),
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="Periods starting on or after."
            ),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Periods starting on or before."),
            PERIOD_PARAMETERS[-1],
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no user
            return KPISnapshot.objects.none()
        query = SnapshotQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        user = self.request.user
        segment = wanted.get("segment", default_segment(user))
        if not can_view_segment(user, segment):
            raise Http404
        rows = KPISnapshot.objects.filter(segment_field=segment.field, segment_value=segment.value)
        if "kpi" in wanted:
            rows = rows.filter(kpi=wanted["kpi"])
        if "grain" in wanted:
            rows = rows.filter(grain=wanted["grain"])
        if "from" in wanted:
            rows = rows.filter(period_start__gte=wanted["from"])
        if "to" in wanted:
            rows = rows.filter(period_start__lte=wanted["to"])
        return readable_snapshots(rows)
