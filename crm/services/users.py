from django.db import transaction

from crm.models import LoginEvent, User


@transaction.atomic
def login_record(*, user: User) -> LoginEvent:
    return LoginEvent.objects.create(user=user)
