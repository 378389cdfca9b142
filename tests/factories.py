import factory
from django.apps import apps
from django.contrib.auth.models import Group

from crm.models import Team, User
from crm.roles import sync_roles


def role_group(name: str) -> Group:
    """The role's group; recreated with its permissions when a transactional test's flush
    removed what the data migrations wrote."""
    group = Group.objects.filter(name=name).first()
    if group is None:
        sync_roles(apps)
        group = Group.objects.get(name=name)
    return group


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("secret-pass-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(role_group(extracted))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)
