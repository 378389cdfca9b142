# Brazilian Portuguese: one date form everywhere, day first; the week starts on Sunday.
DATE_FORMAT = "d/m/Y"
SHORT_DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = "d/m/Y H:i"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
MONTH_DAY_FORMAT = "d/m"
YEAR_MONTH_FORMAT = "M/Y"
FIRST_DAY_OF_WEEK = 0  # Sunday
