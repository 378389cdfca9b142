from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DedupeKey(models.Model):
    """A claim on "this thing exists once": a contact per email, a company per domain, one
    ticket per identical public post within a window.

    The unique index is the arbiter. A service inserts the key in the same transaction as the
    object it creates; a concurrent identical request waits on the index (PostgreSQL) or on the
    writer lock (SQLite), then fails the insert and answers with the object the first one made.
    Keys are only claimed by new creations, so older duplicate rows stay readable as they are.
    """

    scope = models.CharField(_("scope"), max_length=40)
    # The normalised value, or a SHA-256 of it when it is long (a post's subject and text).
    key = models.CharField(_("key"), max_length=255)
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("de-duplication key")
        verbose_name_plural = _("de-duplication keys")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="dedupe_key_once"),
        ]

    def __str__(self):
        return f"{self.scope}:{self.key}"
