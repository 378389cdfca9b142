# Issue 14: the language a user chose (empty: their browser's) and a customer's language for
# the emails and surveys sent to them (empty: the installation's default).

from django.db import migrations, models

import crm.languages


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0025_case_insensitive_matches"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="language",
            field=models.CharField(
                blank=True,
                choices=crm.languages.language_choices,
                default="",
                max_length=10,
                verbose_name="language",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(
                blank=True,
                choices=crm.languages.language_choices,
                default="",
                max_length=10,
                verbose_name="language",
            ),
        ),
    ]
