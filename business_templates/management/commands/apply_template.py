from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import translation

from business_templates.loader import LANGUAGES, TemplateError, available, language_of, load
from business_templates.services import Status, template_apply, template_plan
from crm import access
from crm.models import Role, User

SHOWN = {
    Status.ADDED: "added",
    Status.TO_ADD: "would add",
    Status.PRESENT: "already there",
    Status.REMOVED: "removed by a user since, left out",
}


class Command(BaseCommand):
    help = (
        "Apply a business template (pipelines, custom fields, SLA policies, dashboards, disabled "
        "automation rules, draft goals) in the installation's language. Applying twice is "
        "applying once: what exists is left as it is, only what is missing is added."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help=f"One of: {', '.join(available())}.")
        parser.add_argument(
            "--user",
            help="The admin who applies it (owns its dashboards and goals); default: the first "
            "active admin.",
        )
        parser.add_argument(
            "--language",
            choices=LANGUAGES,
            help="Default: the installation's language (LANGUAGE_CODE).",
        )
        parser.add_argument(
            "--preview", action="store_true", help="List what would be added; write nothing."
        )

    def handle(self, *args, name, user=None, language=None, preview=False, **options):
        if name not in available():
            raise CommandError(f"No template {name!r}; there are: {', '.join(available())}.")
        language = language or language_of(settings.LANGUAGE_CODE)
        actor = self.admin(user)
        try:
            template = load(name)
            with translation.override(language):
                if preview:
                    plan = template_plan(template=template, language=language, actor=actor)
                else:
                    plan = template_apply(template=template, language=language, actor=actor)
        except TemplateError as error:
            message = "The template was refused, nothing was written:\n" + str(error)
            raise CommandError(message) from None
        for item in plan.items:
            self.stdout.write(f"{SHOWN[item.status]:<14} {item.kind_label}: {item.label}")
        added = len(plan.with_status(Status.ADDED))
        present = len(plan.with_status(Status.PRESENT))
        verb = "would add" if preview else "added"
        self.stdout.write(
            self.style.SUCCESS(
                f"{name}: {verb} {len(plan.with_status(Status.TO_ADD)) if preview else added}, "
                f"already there {present}."
            )
        )

    def admin(self, username: str | None) -> User:
        admins = User.objects.filter(is_active=True).filter(
            Q(is_superuser=True) | Q(groups__name=Role.ADMIN)
        )
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None or not access.is_admin(user):
                raise CommandError(f"{username!r} is not an active admin.")
            return user
        user = admins.order_by("pk").first()
        if user is None:
            raise CommandError("No active admin: create one (createsuperuser) or pass --user.")
        return user
