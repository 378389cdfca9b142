"""The four roles and their permissions, kept in sync by data migrations.

Permissions are named `app_label.codename`. A permission whose model does not exist yet is
skipped: the migration that adds the model calls `sync_roles` again.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

from .models.users import Role

SALES_RECORDS = ["company", "contact", "lead", "deal", "activity", "task"]
SUPPORT_RECORDS = ["ticket", "ticketmessage", "contact", "activity", "task"]
REFERENCE_RECORDS = ["pipeline", "stage", "slapolicy", "customfield", "user", "team"]
# The support desk's own records: agents write the knowledge base and send surveys.
KNOWLEDGE_RECORDS = ["article", "articlecategory"]
SURVEY_RECORDS = ["surveyinvitation"]


def _crud(models: list[str], actions=("view", "add", "change")) -> set[str]:
    return {f"crm.{action}_{model}" for model in models for action in actions}


ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.SALES_REP: _crud(SALES_RECORDS)
    | _crud(REFERENCE_RECORDS, actions=("view",))
    | {"crm.view_ticket", "crm.view_subscription", "crm.view_surveyanswer", "crm.view_article"},
    Role.SUPPORT_AGENT: _crud(SUPPORT_RECORDS + KNOWLEDGE_RECORDS + SURVEY_RECORDS)
    | _crud(REFERENCE_RECORDS + ["company", "surveyanswer"], actions=("view",)),
    Role.MANAGER: _crud(
        SALES_RECORDS
        + SUPPORT_RECORDS
        + KNOWLEDGE_RECORDS
        + SURVEY_RECORDS
        + ["subscription", "expense"]
    )
    | _crud(REFERENCE_RECORDS + ["surveyanswer", "loginevent", "event"], actions=("view",))
    | {"crm.change_team", "crm.delete_task", "metrics.view_kpisnapshot"}
    # Managers tune the dashboards' reference bands and the health score weights.
    | {"metrics.view_companyhealth", "metrics.view_healthsettings", "metrics.change_healthsettings"}
    | {f"metrics.{a}_kpibandoverride" for a in ("view", "add", "change", "delete")},
}

# Goals: everyone reads the goals they may see (access rules) and updates the hand-kept
# targets of their own; managers set, split and close goals. Automations: admins build the
# rules; managers read rules and runs; reps and agents read runs on records they can see.
GOAL_READERS = {"goals.view_goal", "goals.view_target", "goals.change_target"}
GOAL_MANAGERS = {
    f"goals.{action}_{model}"
    for model in ("goal", "target")
    for action in ("view", "add", "change", "delete")
}
RUN_READERS = {"automations.view_rulerun"}
RULE_READERS = {"automations.view_rule", "automations.view_rulerun"}
for _role, _extra in (
    (Role.SALES_REP, GOAL_READERS | RUN_READERS),
    (Role.SUPPORT_AGENT, GOAL_READERS | RUN_READERS),
    (Role.MANAGER, GOAL_MANAGERS | RULE_READERS),
):
    ROLE_PERMISSIONS[_role] |= _extra

ALL_PERMISSIONS = "__all__"
ROLE_PERMISSIONS[Role.ADMIN] = ALL_PERMISSIONS  # type: ignore[assignment]


def sync_roles(apps, schema_editor=None) -> None:
    """Create the four groups and give each exactly its permissions (run from migrations)."""
    # Permissions are normally created after migrate ends; the groups need them now.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = ROLE_PERMISSIONS[role]
        permissions = Permission.objects.all()
        if wanted != ALL_PERMISSIONS:
            permissions = [
                p for p in permissions.select_related("content_type") if _key(p) in wanted
            ]
        group.permissions.set(permissions)


def _key(permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"
