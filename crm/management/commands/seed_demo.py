import time
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from crm.custom_fields import sync_sort_indexes
from crm.db_settings import analytical_session
from crm.demo import DEMO_PASSWORD, DEMO_USERS, create_demo_users
from crm.models import User
from crm.seed import (
    SCALES,
    has_records,
    reset_demo_records,
    seed_demo,
    vacuum_seeded_tables,
)


class Command(BaseCommand):
    help = (
        "Create the demo accounts and 18 months of deterministic demo records "
        "(companies, leads, deals, tickets, surveys, subscriptions, expenses...)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            choices=list(SCALES),
            default="small",
            help="small ≈ 2,000 deals (the default), medium ≈ 20,000, large ≈ 1,000,000.",
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Same seed, same day: same rows (default 42)."
        )
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="The day the history ends (YYYY-MM-DD); defaults to today.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has users (used by `make run`).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete every CRM record first; users, teams and configuration stay.",
        )

    def handle(self, *args, scale, seed, today, if_empty=False, reset=False, **options):
        if if_empty and User.objects.exists():
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        if has_records() and not reset:
            raise CommandError(
                "The database already has records; pass --reset to delete them and seed again."
            )
        began = started = time.monotonic()
        progress = self.stdout.write if options["verbosity"] > 1 else None
        with transaction.atomic():
            if reset:
                reset_demo_records()
            create_demo_users()
            counts = seed_demo(
                scale=scale, seed=seed, today=today, progress=progress, analyze=False
            )
        elapsed = time.monotonic() - started
        # Committed: vacuum the loaded tables before anything (the KPI backfill) reads them.
        vacuum_started = time.monotonic()
        maintenance = vacuum_seeded_tables()
        vacuum_elapsed = time.monotonic() - vacuum_started
        # The demo's fields are written by the seed, not the settings pages: their list sort
        # indexes (PostgreSQL) are made here, on the loaded rows.
        indexes_started = time.monotonic()
        sort_indexes = sync_sort_indexes()["created"]
        indexes_elapsed = time.monotonic() - indexes_started

        self.stdout.write(self.style.SUCCESS(f"Demo accounts (password for all: {DEMO_PASSWORD}):"))
        for username, _first, _last, role in DEMO_USERS:
            self.stdout.write(f"  {username:<8} {role.label}")
        self.stdout.write(self.style.SUCCESS(f"Demo records ({scale}, seed {seed}):"))
        for model, count in sorted(counts.items()):
            self.stdout.write(f"  {model:<16} {count:>10,}")
        self.stdout.write(f"  {'total':<16} {sum(counts.values()):>10,}  in {elapsed:.1f} s")
        self.stdout.write("Phases:")
        self.stdout.write(f"  records                        in {elapsed:.1f} s")
        if maintenance:
            self.stdout.write(f"  {maintenance:<30} in {vacuum_elapsed:.1f} s")
        if sort_indexes:
            label = f"{len(sort_indexes)} sort indexes"
            self.stdout.write(f"  {label:<30} in {indexes_elapsed:.1f} s")
        # Other apps extend seeding (e.g. metrics backfills KPI history) without crm importing
        # them: dotted paths in CRM_AFTER_SEED, each called with the seed's scale and last day.
        with analytical_session():
            for hook in getattr(settings, "CRM_AFTER_SEED", []):
                started = time.monotonic()
                import_string(hook)(scale=scale, today=today)
                self.stdout.write(f"  {hook} in {time.monotonic() - started:.1f} s")
        self.stdout.write(f"  all phases in {time.monotonic() - began:.1f} s")
