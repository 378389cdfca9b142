import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from metrics import services


class Command(BaseCommand):
    help = "Snapshot every KPI for a range of days (backfill); re-running replaces the rows."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first_day", type=date.fromisoformat, required=True)
        parser.add_argument("--to", dest="last_day", type=date.fromisoformat, required=True)

    def handle(self, *args, first_day, last_day, **options):
        if last_day < first_day:
            raise CommandError("--to comes before --from.")
        started = time.monotonic()
        written = services.snapshot_range(first_day=first_day, last_day=last_day)
        self.stdout.write(
            self.style.SUCCESS(
                f"{written} snapshot rows written in {time.monotonic() - started:.1f} s"
            )
        )
