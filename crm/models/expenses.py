from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .common import Timestamped, default_currency


class ExpenseCategory(models.TextChoices):
    ADS = "ads", _("Advertising")
    EVENTS = "events", _("Events")
    SALES_SALARIES = "sales_salaries", _("Sales salaries")
    TOOLS = "tools", _("Sales and marketing tools")
    SUPPORT = "support", _("Support")
    LOYALTY = "loyalty", _("Loyalty programmes")
    SUCCESS = "success", _("Customer success")


# CAC counts acquisition spend; customer retention cost counts retention spend.
ACQUISITION_CATEGORIES = [
    ExpenseCategory.ADS,
    ExpenseCategory.EVENTS,
    ExpenseCategory.SALES_SALARIES,
    ExpenseCategory.TOOLS,
]
RETENTION_CATEGORIES = [ExpenseCategory.SUPPORT, ExpenseCategory.LOYALTY, ExpenseCategory.SUCCESS]


class Expense(Timestamped):
    spent_on = models.DateField(_("date"), db_index=True)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, default=default_currency)
    category = models.CharField(_("category"), max_length=16, choices=ExpenseCategory)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")
        ordering = ["-spent_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="expense_amount_not_negative",
                violation_error_message=_("The amount cannot be negative."),
            ),
        ]

    def __str__(self):
        return f"{self.spent_on} {self.get_category_display()} {self.amount}"

    @property
    def is_acquisition(self) -> bool:
        return self.category in ACQUISITION_CATEGORIES
