from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self):
        from .celery import ensure_embedded_broker_folders
        from .db_moments import send_moments_in_utc

        ensure_embedded_broker_folders()
        send_moments_in_utc()
        post_migrate.connect(create_cache_table, sender=self)
        post_migrate.connect(sync_role_permissions, sender=self)


def create_cache_table(sender, using, **kwargs):
    """The database cache's table is not a model: create it after every migrate (a no-op
    once it exists), so `make run`, a deployment's migrate and each test database have it."""
    from django.core.management import call_command

    # Only caches that are database caches get a table; Redis needs none.
    call_command("createcachetable", database=using, verbosity=0)


def sync_role_permissions(sender, apps=None, **kwargs):
    """Give the roles their permissions after every migrate: a model added later (by this app,
    another one or a library such as django-axes) has its permissions only once migrate ends,
    and the admin role must hold every permission there is. `flush` (transactional tests)
    sends the signal without the migration state: the installed apps stand in for it."""
    from django.apps import apps as installed_apps

    from .roles import sync_roles

    sync_roles(apps or installed_apps)
