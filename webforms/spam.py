"""What tells a person from a script without an outside captcha: a signed token issued with the
page (its age is the fill time; its nonce makes one submission of one page), a honeypot field
people never see, and a cap on the body's size. The rate limit is the public forms' one
(crm.views.public.public_form_rate)."""

import secrets
import time

from django.core import signing
from django.utils.translation import gettext_lazy as _

TOKEN_FIELD = "_token"
HONEYPOT_FIELD = "website"
SALT = "webforms.fill-token"
# A person reads and types for longer than this; a script posts at once.
MIN_FILL_SECONDS = 2
# A page left open overnight still sends; an old harvested token does not.
MAX_TOKEN_AGE = 24 * 60 * 60
# Every field of a generous form, in any script: a bigger body is not a person's message.
MAX_BODY_BYTES = 64 * 1024


class Refused(Exception):
    """A submission that is not accepted; `reason` names the rule, `message` tells the visitor."""

    MESSAGES = {
        "missing": _("Please check your details and send the form again."),
        "expired": _("This page was open too long. Please check your details and send again."),
        "too_fast": _("That was quick! Please check your details and send the form again."),
        "honeypot": _("We could not accept this submission."),
        "too_big": _("This submission is too large."),
    }

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
        self.message = self.MESSAGES[reason]


def issue_token(form_id: int, *, issued_at: float | None = None) -> str:
    issued = int(time.time() if issued_at is None else issued_at)
    payload = {"f": form_id, "n": secrets.token_hex(16), "t": issued}
    return signing.dumps(payload, salt=SALT)


def check_token(form_id: int, token: str, *, now: float | None = None) -> str:
    """The token's nonce if the page was issued for this form long enough ago, else Refused."""
    if not token or len(token) > 300:
        raise Refused("missing")
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise Refused("missing") from None
    if not isinstance(payload, dict) or payload.get("f") != form_id:
        raise Refused("missing")
    issued, nonce = payload.get("t"), payload.get("n")
    if not isinstance(issued, int) or not isinstance(nonce, str):
        raise Refused("missing")
    age = (time.time() if now is None else now) - issued
    if age < MIN_FILL_SECONDS:
        raise Refused("too_fast")
    if age > MAX_TOKEN_AGE:
        raise Refused("expired")
    return nonce


def check_honeypot(data) -> None:
    if data.get(HONEYPOT_FIELD):
        raise Refused("honeypot")


def check_body_size(request) -> None:
    """Before the body is read: a declared length over the cap (or none readable) is refused."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused("too_big") from None
    if length > MAX_BODY_BYTES or length < 0:
        raise Refused("too_big")
