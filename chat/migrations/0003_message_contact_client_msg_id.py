"""client_msg_id unique per visitor (not only per conversation), issue 9 #4.

Visitor messages get their conversation's contact; where one visitor already stored the
same client_msg_id twice (the race this fixes), only the first keeps the contact, so the
new unique index can be built and the later copies stay as they were.
"""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
UPDATE chat_message SET contact_id = first.contact_id
FROM (
    SELECT m.id, c.contact_id,
           row_number() OVER (PARTITION BY c.contact_id, m.client_msg_id ORDER BY m.id) AS n
    FROM chat_message m JOIN chat_conversation c ON c.id = m.conversation_id
    WHERE m.sender = 'visitor'
) AS first
WHERE chat_message.id = first.id AND (first.n = 1 OR chat_message.client_msg_id IS NULL)
"""


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0002_reporting_event_kinds'),
        ('tenants', '0001_initial'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='message',
            name='message_unique_client_msg_id',
        ),
        migrations.AddField(
            model_name='message',
            name='contact',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='chat.contact'),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(condition=models.Q(('client_msg_id__isnull', False), ('sender', 'visitor')), fields=('tenant', 'contact', 'client_msg_id'), name='message_unique_visitor_client_msg_id'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(condition=models.Q(('client_msg_id__isnull', False), models.Q(('sender', 'visitor'), _negated=True)), fields=('tenant', 'conversation', 'client_msg_id'), name='message_unique_client_msg_id'),
        ),
    ]
