"""Widget.locale "auto" (follow the page / the visitor's browser) becomes the default.

"en" was only ever the default, and the widget used to apply it regardless of the page,
so widgets still on "en" move to "auto"; "zh-hans" stays pinned."""

from django.db import migrations, models


def en_to_auto(apps, schema_editor):
    Widget = apps.get_model("tenants", "Widget")
    Widget.objects.filter(locale="en").update(locale="auto")


def auto_to_en(apps, schema_editor):
    Widget = apps.get_model("tenants", "Widget")
    Widget.objects.filter(locale="auto").update(locale="en")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_tenant_retention_days")]

    operations = [
        migrations.AlterField(model_name="widget", name="locale", field=models.CharField(default="auto", max_length=10)),
        migrations.RunPython(en_to_auto, auto_to_en),
    ]
