"""Demo accounts for a first local run; every one shares DEMO_PASSWORD (see README.md)."""

from django.contrib.auth.models import Group
from django.db import transaction

from .models import Team, User
from .models.users import Role
from .services import support_settings_update

DEMO_PASSWORD = "crm-demo"  # noqa: S105 - printed and documented on purpose

DEMO_USERS = [
    # username, first name, last name, role
    ("diego", "Diego", "Admin", Role.ADMIN),
    ("carla", "Carla", "Manager", Role.MANAGER),
    ("ana", "Ana", "Rep", Role.SALES_REP),
    ("marco", "Marco", "Rep", Role.SALES_REP),
    ("bruno", "Bruno", "Agent", Role.SUPPORT_AGENT),
]


@transaction.atomic
def create_demo_users() -> list[User]:
    users = {}
    for username, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
        user.groups.add(Group.objects.get(name=role.value))
        users[username] = user
    sales, _ = Team.objects.get_or_create(name="Sales", defaults={"manager": users["carla"]})
    sales.members.add(users["ana"], users["marco"], users["carla"])
    support, _ = Team.objects.get_or_create(name="Support", defaults={"manager": users["carla"]})
    support.members.add(users["bruno"])
    # New tickets without a team (the public form, customer emails) go to Support's queue.
    support_settings_update(actor=None, default_team=support)
    return list(users.values())
