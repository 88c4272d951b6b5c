from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0004_membership_email_alerts_membership_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="widget",
            name="time_zone",
            field=models.CharField(default="UTC", max_length=64),
        ),
        migrations.AddField(
            model_name="widget",
            name="business_hours",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="widget",
            name="holidays",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="widget",
            name="away_message",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
    ]
