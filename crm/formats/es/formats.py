# Spanish: one date form everywhere, day first; the week starts on Monday. Thousands take a
# point, as in money (Django's default is a space).
DATE_FORMAT = "d/m/Y"
SHORT_DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = "d/m/Y H:i"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
THOUSAND_SEPARATOR = "."
