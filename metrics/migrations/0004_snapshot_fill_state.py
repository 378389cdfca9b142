# Issue 16, item 4: the nightly fill's state per period and its one-run-at-a-time lease.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0003_dashboards_health_bands"),
    ]

    operations = [
        migrations.CreateModel(
            name="SnapshotFill",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("grain", models.CharField(max_length=10, verbose_name="grain")),
                ("period_start", models.DateField(verbose_name="period start")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("started", "Started"),
                            ("open", "Written, not final"),
                            ("done", "Done"),
                        ],
                        default="started",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "started_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="started"),
                ),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="finished"),
                ),
                (
                    "rows_written",
                    models.PositiveIntegerField(default=0, verbose_name="rows written"),
                ),
                (
                    "run_id",
                    models.CharField(blank=True, default="", max_length=40, verbose_name="run"),
                ),
            ],
            options={
                "verbose_name": "snapshot fill",
                "verbose_name_plural": "snapshot fills",
                "ordering": ["grain", "period_start"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("grain", "period_start"), name="snapshot_fill_unique"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="FillLock",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=40, unique=True, verbose_name="name")),
                (
                    "run_id",
                    models.CharField(blank=True, default="", max_length=40, verbose_name="run"),
                ),
                (
                    "expires_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="expires"),
                ),
            ],
            options={
                "verbose_name": "fill lock",
                "verbose_name_plural": "fill locks",
            },
        ),
    ]
