"""Claims that make "this exists once" hold under concurrency: a contact per email address, a
company per web domain and per name.

A look-then-insert lets two requests both look, both find nothing and both insert. A claim is
a row under a unique index instead, inserted in the transaction that creates the object: a
concurrent identical claim waits on the index (PostgreSQL; SQLite runs one writer at a time),
fails once the first commits, and the caller uses the first one's object. Claims are made only
when a service creates the object, so duplicates from before (or made on purpose) stay as
they are, and a claim whose object was deleted or changed is taken over, under a row lock.
"""

from collections.abc import Callable

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from crm.models import Company, Contact, DedupeKey

CONTACT_EMAIL = "contact-email"
COMPANY_DOMAIN = "company-domain"
COMPANY_NAME = "company-name"
MAX_KEY_LENGTH = 255


def dedupe_claim(*, scope: str, key: str, live: Callable[[int], bool]) -> tuple[DedupeKey, bool]:
    """Claim (scope, key) inside the caller's transaction.

    Returns (claim, True) when the caller now holds it: it creates the object and calls
    `dedupe_bind`, both before committing. Returns (claim, False) when a live object holds it
    (`live(claim.object_id)` says whether that object still is what the key names).
    """
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return DedupeKey.objects.create(scope=scope, key=key), True
        except IntegrityError:
            pass  # held; by a committed claim, since a pending one made us wait
        claim = DedupeKey.objects.select_for_update().filter(scope=scope, key=key).first()
        if claim is None:
            continue  # released between the two statements: claim again
        if claim.object_id is not None and live(claim.object_id):
            return claim, False
        # Its object is gone or no longer matches: the one holding the lock takes it over.
        claim.object_id, claim.created_at = None, timezone.now()
        claim.save(update_fields=["object_id", "created_at"])
        return claim, True
    raise IntegrityError(f"could not claim {scope}:{key}")


def dedupe_bind(claim: DedupeKey, instance: models.Model) -> None:
    claim.object_id = instance.pk
    claim.save(update_fields=["object_id"])


def email_key(email: str) -> str:
    return email.strip().lower()[:MAX_KEY_LENGTH]


def name_key(name: str) -> str:
    # As the name matching of a lead's conversion (case-insensitive, trimmed).
    return name.strip().lower()[:MAX_KEY_LENGTH]


def contact_once(*, email: str, create: Callable[[], Contact]) -> tuple[Contact, bool]:
    """The contact this service created for `email`, or a new one made by `create`.

    Returns (contact, created). Without an email there is nothing to claim.
    """
    key = email_key(email)
    if not key:
        return create(), True
    claim, claimed = dedupe_claim(
        scope=CONTACT_EMAIL,
        key=key,
        live=lambda pk: Contact.objects.filter(pk=pk, email__iexact=key).exists(),
    )
    if not claimed:
        return Contact.objects.select_related("company").get(pk=claim.object_id), False
    contact = create()
    dedupe_bind(claim, contact)
    return contact, True


def company_once(*, domain: str, name: str, create: Callable[[], Company]) -> tuple[Company, bool]:
    """A company claimed by its domain and its name: the one already claimed, or a new one."""
    keys = sorted(
        (scope, key)
        for scope, key in ((COMPANY_DOMAIN, email_key(domain)), (COMPANY_NAME, name_key(name)))
        if key
    )
    held = []
    try:
        # One savepoint: a lost claim releases the ones already taken, which belong to a
        # company this call no longer creates. Keys are taken in one order: no deadlock.
        with transaction.atomic():
            for scope, key in keys:
                claim, claimed = dedupe_claim(
                    scope=scope, key=key, live=_company_matches(scope, key)
                )
                if not claimed:
                    raise _Taken(claim)
                held.append(claim)
    except _Taken as taken:
        return Company.objects.get(pk=taken.claim.object_id), False
    company = create()
    for claim in held:
        dedupe_bind(claim, company)
    return company, True


class _Taken(Exception):
    def __init__(self, claim: DedupeKey):
        self.claim = claim


def _company_matches(scope: str, key: str) -> Callable[[int], bool]:
    if scope == COMPANY_DOMAIN:
        return lambda pk: Company.objects.filter(pk=pk, domain__iexact=key).exists()
    return lambda pk: any(
        name_key(name) == key
        for name in Company.objects.filter(pk=pk).values_list("name", flat=True)
    )
