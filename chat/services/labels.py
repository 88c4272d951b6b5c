"""Labels on conversations and canned responses."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from chat import events
from chat.models import (
    CannedResponse,
    ConversationLabel,
    Label,
)
from chat.services.common import _agent_conversation
from tenants.errors import ErrorCode, ServiceError
from tenants.models import Membership
from tenants.scoping import TenantOwnedModel
from tenants.services import delete_owned

_Owned = TypeVar("_Owned", bound=TenantOwnedModel)


def set_labels(*, actor: Membership, conversation_id: int, label_ids: list[int]) -> list[Label]:
    with transaction.atomic():
        conv = _agent_conversation(actor, conversation_id, lock=True)
        labels = list(Label.objects.for_tenant(actor.tenant_id).filter(pk__in=label_ids))
        if len(labels) != len(set(label_ids)):
            raise ServiceError(_("Unknown label."), code=ErrorCode.INVALID)
        ConversationLabel.objects.for_tenant(actor.tenant_id).filter(conversation_id=conv.pk).exclude(
            label_id__in=[label.pk for label in labels]
        ).delete()
        have = set(
            ConversationLabel.objects.for_tenant(actor.tenant_id)
            .filter(conversation_id=conv.pk)
            .values_list("label_id", flat=True)
        )
        ConversationLabel.objects.bulk_create(
            [
                ConversationLabel(tenant_id=actor.tenant_id, conversation_id=conv.pk, label_id=label.pk)
                for label in labels
                if label.pk not in have
            ]
        )
        events.emit(
            events.inbox_group(actor.tenant_id),
            {"type": "labels", "conversation_id": conv.pk, "labels": [{"id": x.pk, "name": x.name} for x in labels]},
        )
    return labels


def create_label(*, actor: Membership, name: str, color: str = "#64748b") -> Label:
    name = (name or "").strip()[:60]
    if not name:
        raise ServiceError(_("Give the label a name."), code=ErrorCode.INVALID)
    if not re.match(r"^#[0-9a-fA-F]{6}$", color or ""):
        raise ServiceError(_("Colour must look like #2563eb."), code=ErrorCode.INVALID)
    return _create_unique(Label, _("A label with this name exists."), tenant_id=actor.tenant_id, name=name, color=color)


def delete_label(*, actor: Membership, label_id: int) -> None:
    delete_owned(Label, _("Label not found."), tenant=actor.tenant_id, pk=label_id)


def create_canned_response(*, actor: Membership, shortcut: str, text: str) -> CannedResponse:
    shortcut = (shortcut or "").strip().lstrip("/").lower()
    if not re.match(r"^[a-z0-9_-]{1,40}$", shortcut):
        raise ServiceError(_("A shortcut is 1-40 letters, digits, - or _."), code=ErrorCode.INVALID)
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("The response text is empty."), code=ErrorCode.INVALID)
    return _create_unique(
        CannedResponse, _("This shortcut is taken."), tenant_id=actor.tenant_id, shortcut=shortcut, text=text[:4000]
    )


def delete_canned_response(*, actor: Membership, canned_id: int) -> None:
    delete_owned(CannedResponse, _("Canned response not found."), tenant=actor.tenant_id, pk=canned_id)


def _create_unique(model: type[_Owned], taken: str, **fields: Any) -> _Owned:
    """Create a row whose name is unique per tenant; a clash is a DUPLICATE refusal saying `taken`."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError:
        raise ServiceError(taken, code=ErrorCode.DUPLICATE) from None
