# English as the CRM writes it (the installation's default currency is the US dollar): one date
# form everywhere, "Nov 26, 2026", which no reader takes for the 11th of the 26th month.
DATE_FORMAT = "M j, Y"
SHORT_DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y, g:i A"
SHORT_DATETIME_FORMAT = "M j, Y, g:i A"
TIME_FORMAT = "g:i A"
FIRST_DAY_OF_WEEK = 0  # Sunday
