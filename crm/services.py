"""Operations on the records: the only write path (see DESIGN.md, "Logic placement")."""

from django.db import transaction

from .models import LoginEvent, User


@transaction.atomic
def login_record(*, user: User) -> LoginEvent:
    return LoginEvent.objects.create(user=user)
