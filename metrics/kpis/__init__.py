"""Importing this package registers every KPI definition (see metrics.registry)."""

from . import adoption, perception, revenue, sales, support  # noqa: F401
