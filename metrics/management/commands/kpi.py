import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.periods import custom_period, period_for
from metrics.registry import ALL, REGISTRY, Segment, all_kpis, get_kpi


class Command(BaseCommand):
    help = "Print a KPI's value, numerator and denominator for a period (this month by default)."

    def add_arguments(self, parser):
        parser.add_argument("key", nargs="?", help="KPI key; see --list")
        parser.add_argument("--list", action="store_true", help="List every KPI key")
        parser.add_argument("--from", dest="first_day", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument(
            "--to", dest="last_day", type=date.fromisoformat, help="YYYY-MM-DD, included"
        )
        parser.add_argument("--segment", help="FIELD=VALUE, e.g. owner=3 or lead_source=web")
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(
        self, *args, key=None, list=False, first_day=None, last_day=None, segment=None, **options
    ):
        if list:
            for kpi in all_kpis():
                self.stdout.write(f"{kpi.key:<28} {kpi.label}")
            return
        if not key:
            raise CommandError("Name a KPI, or use --list to see them.")
        all_kpis()
        if key not in REGISTRY:
            raise CommandError(f"Unknown KPI {key!r}; `kpi --list` shows the keys.")
        kpi = get_kpi(key)
        period = self._period(first_day, last_day)
        chosen = self._segment(kpi, segment)
        result = kpi.value(period, chosen)
        if options["json"]:
            payload = {
                "kpi": key,
                "from": period.start_date.isoformat(),
                "to": period.end_date.isoformat(),
            }
            if not chosen.is_all:
                payload["segment"] = {chosen.field: chosen.value}
            self.stdout.write(json.dumps({**payload, **result.as_dict()}))
            return
        self.stdout.write(f"{kpi.label} ({key}), {period}")
        self.stdout.write(f"  value:       {'—' if result.value is None else result.value}")
        self.stdout.write(f"  numerator:   {'—' if result.numerator is None else result.numerator}")
        self.stdout.write(
            f"  denominator: {'—' if result.denominator is None else result.denominator}"
        )

    def _period(self, first_day, last_day):
        if first_day is None and last_day is None:
            return period_for("month", timezone.localdate())
        if first_day is None or last_day is None:
            raise CommandError("Give both --from and --to, or neither.")
        try:
            return custom_period(first_day, last_day)
        except ValueError as error:
            raise CommandError(str(error)) from error

    def _segment(self, kpi, text):
        if not text:
            return ALL
        field, sep, value = text.partition("=")
        if not sep or not field or not value:
            raise CommandError("Write the segment as FIELD=VALUE, e.g. --segment owner=3.")
        try:
            kpi.segment_path(field)
        except KeyError as error:
            choices = ", ".join(sorted(kpi.segments))
            raise CommandError(
                f"{kpi.key} cannot be split by {field!r}; try one of: {choices}."
            ) from error
        return Segment(field, value)
