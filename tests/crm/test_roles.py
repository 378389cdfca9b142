import pytest
from django.contrib.auth.models import Group, Permission

from crm.models.users import Role
from crm.roles import ALL_PERMISSIONS, ROLE_PERMISSIONS


def permission_keys(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


@pytest.mark.django_db
def test_the_four_roles_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SALES_REP, Role.SUPPORT_AGENT, Role.MANAGER])
def test_each_role_has_exactly_the_permissions_of_its_model_that_exist(role):
    existing = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }
    expected = ROLE_PERMISSIONS[role] & existing

    assert permission_keys(Group.objects.get(name=role)) == expected
    assert expected, "a role without permissions cannot do anything"


@pytest.mark.django_db
def test_admin_role_has_every_permission():
    assert ROLE_PERMISSIONS[Role.ADMIN] == ALL_PERMISSIONS
    assert Group.objects.get(name=Role.ADMIN).permissions.count() == Permission.objects.count()


@pytest.mark.django_db
def test_a_rep_may_view_users_but_not_change_them(rep, admin_user):
    assert rep.has_perm("crm.view_user")
    assert not rep.has_perm("crm.change_user")
    assert not rep.has_perm("crm.delete_team")
    assert admin_user.has_perm("crm.delete_team")


@pytest.mark.django_db
def test_a_manager_may_change_teams_a_rep_may_not(manager, rep):
    assert manager.has_perm("crm.change_team")
    assert not rep.has_perm("crm.change_team")
