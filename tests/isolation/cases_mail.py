from django.utils import timezone

from mail.models import MailKind, OutboundMail
from tests.isolation.cases import Case, no_kwargs


def _outbox_markers(team):
    row = OutboundMail.objects.create(
        tenant=team.tenant, kind=MailKind.TRANSCRIPT, key=f"iso-{team.tenant.slug}", due_at=timezone.now(),
        recipient=f"secret-visitor@{team.tenant.slug}.example.com", subject=f"Secret subject {team.tenant.slug}", body="x",
    )
    return [row.recipient, row.subject]


CASES = {
    "mail:outbox": Case(setup=no_kwargs(_outbox_markers), methods=("GET", "POST")),
    "mail:notifications": Case(setup=no_kwargs(), methods=("GET", "POST")),
}
