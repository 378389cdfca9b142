"""Teams, as admins set them up (the settings pages): a name, a manager, the members.

Who is in which team decides who sees which records (crm.access), so each change is an event
with the members before and after.
"""

from crm.models import Team, User

from .reference import reference_save


def team_create(
    *, actor: User | None, name: str, manager: User | None, members: list[User]
) -> Team:
    return reference_save(
        Team, actor=actor, data={"name": name, "manager": manager}, many={"members": members}
    )


def team_update(
    *, team: Team, actor: User | None, name: str, manager: User | None, members: list[User]
) -> Team:
    return reference_save(
        Team,
        actor=actor,
        data={"name": name, "manager": manager},
        many={"members": members},
        pk=team.pk,
    )
