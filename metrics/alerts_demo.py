"""Demo data, called by seed_demo after seeding (CRM_AFTER_SEED)."""


def seed_demo_alerts(**kwargs) -> None:
    return None
