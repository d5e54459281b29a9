from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0008_recording_heartbeat"),
    ]

    operations = [
        # Every PBX event looks its call up by the PBX's id: without this a
        # chain's year of calls is scanned for each one. (The index is the
        # database's only; the model's state has no index on these fields.)
        migrations.RunSQL(
            "CREATE INDEX desk_call_pbx_id ON desk_call (external_id, source)",
            reverse_sql="DROP INDEX desk_call_pbx_id",
        ),
        migrations.CreateModel(
            name="PbxApplyClaim",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("call_id", models.CharField(max_length=200, unique=True)),
                ("holder", models.CharField(max_length=32)),
                ("taken_at", models.DateTimeField()),
            ],
        ),
    ]
