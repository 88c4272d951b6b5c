"""Tell a member's open portal sockets that their access changed, so they re-check it at
once and close (tenants.consumers.TenantMemberConsumer): a membership removed or its role
changed, a password changed, an account deactivated. Signals rather than calls in the
services, so the admin site and `manage.py changepassword` are covered too."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from tenants.consumers import member_group
from tenants.models import Membership

logger = logging.getLogger(__name__)

# Sent inside the service's transaction; the mail app listens (tenants never imports it).
invitation_created = Signal()  # invitation, token (raw, the mail's link), inviter_name
account_created = Signal()  # user: a new sign-up (verification mail)


def _send_access_changed(user_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(member_group(user_id), {"type": "member.access_changed"})
    except Exception:  # the sockets still re-check on their next frame and event
        logger.warning("could not notify the sockets of user %s", user_id, exc_info=True)


def access_changed(*, user_id: int) -> None:
    transaction.on_commit(lambda: _send_access_changed(user_id))


def _membership_saved(sender: Any, instance: Membership, created: bool, **kwargs: Any) -> None:
    if not created:
        access_changed(user_id=instance.user_id)


def _membership_deleted(sender: Any, instance: Membership, **kwargs: Any) -> None:
    access_changed(user_id=instance.user_id)


def _user_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return  # a login changes nothing a socket holds
    access_changed(user_id=instance.pk)


def connect() -> None:
    post_save.connect(_membership_saved, sender=Membership, dispatch_uid="kefu.member_access.saved")
    post_delete.connect(_membership_deleted, sender=Membership, dispatch_uid="kefu.member_access.deleted")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="kefu.member_access.user")
