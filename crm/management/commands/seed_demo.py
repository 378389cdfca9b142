from django.core.management.base import BaseCommand

from crm.demo import DEMO_PASSWORD, DEMO_USERS, create_demo_users
from crm.models import User


class Command(BaseCommand):
    help = "Create the demo accounts (and, once the records exist, demo data)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has users (used by `make run`).",
        )

    def handle(self, *args, if_empty=False, **options):
        if if_empty and User.objects.exists():
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        create_demo_users()
        self.stdout.write(self.style.SUCCESS(f"Demo accounts (password for all: {DEMO_PASSWORD}):"))
        for username, _first, _last, role in DEMO_USERS:
            self.stdout.write(f"  {username:<8} {role.label}")
