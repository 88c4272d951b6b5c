"""Attachments (issue 13 #2): a visitor or an agent uploads an image or a PDF; it is
stored through Django's default storage and a message in the conversation shows it.

- The type comes from the file's first bytes (magic numbers), never from its name or the
  browser's Content-Type: a ".png" that is HTML or an executable is refused.
- Size at most settings.KEFU_ATTACHMENT_MAX_BYTES; images also decode with Pillow (a PNG
  header on garbage is refused) and get a JPEG thumbnail.
- Nothing is stored half-way: the files are written first, the row and its message in one
  transaction; if anything fails the written files are deleted before the error goes up.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from chat.models import ATTACHMENT_BODY_PREFIX, Attachment, Contact, Message, Sender, new_attachment_key
from chat.services.common import Posted
from chat.services.messages import agent_send, send_visitor_message
from tenants.errors import ErrorCode, ServiceError
from tenants.models import Membership

# Leading bytes -> (content type, file extension). Only these are accepted.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"%PDF-", "application/pdf", "pdf"),
)
_WEBP = (b"RIFF", b"WEBP")
THUMBNAIL_SIZE = (320, 320)


@dataclass
class Upload:
    attachment: Attachment
    posted: Posted


def sniff_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) named by a file's first bytes, or None if not accepted."""
    for magic, content_type, ext in _SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    if head[:4] == _WEBP[0] and head[8:12] == _WEBP[1]:
        return "image/webp", "webp"
    return None


def message_body(*, key: str, name: str) -> str:
    return f"{ATTACHMENT_BODY_PREFIX}{key}] {name}"


def _clean_name(name: str, ext: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>')[:150]
    stem = os.path.splitext(base)[0] or "file"
    return f"{stem}.{ext}"  # the extension follows the content, not what the sender claimed


def _read_checked(upload: IO[bytes], size: int) -> tuple[bytes, str, str]:
    limit = settings.KEFU_ATTACHMENT_MAX_BYTES
    if size > limit:
        raise ServiceError(
            _("The file is too large (at most %(mb)s MB).") % {"mb": round(limit / 1024 / 1024, 1)},
            code=ErrorCode.TOO_LONG,
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(_("The file is too large (at most %(mb)s MB).") % {"mb": round(limit / 1024 / 1024, 1)},
                           code=ErrorCode.TOO_LONG)
    if not data:
        raise ServiceError(_("The file is empty."), code=ErrorCode.EMPTY)
    sniffed = sniff_type(data[:16])
    if sniffed is None:
        raise ServiceError(_("Only images (PNG, JPEG, GIF, WebP) and PDF files can be sent."), code=ErrorCode.INVALID)
    return data, *sniffed


def _thumbnail(data: bytes) -> bytes:
    """A JPEG thumbnail; an image Pillow cannot decode is refused (it was not an image)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ServiceError(_("The image could not be read."), code=ErrorCode.INVALID)


def _store(*, tenant_id: int, key: str, ext: str, data: bytes, thumb: bytes | None) -> tuple[str, str]:
    """Writes the file (and thumbnail); returns their storage names."""
    folder = f"attachments/{tenant_id}/{key[:2]}"
    written = [default_storage.save(f"{folder}/{key}.{ext}", ContentFile(data))]
    try:
        if thumb is not None:
            written.append(default_storage.save(f"{folder}/{key}.thumb.jpg", ContentFile(thumb)))
    except Exception:
        delete_files(names=written)
        raise
    return written[0], written[1] if thumb is not None else ""


def delete_files(*, names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def _create(
    *, upload: IO[bytes], size: int, name: str, post: Any, sender: str, tenant_id: int, author: Membership | None,
) -> Upload:
    data, content_type, ext = _read_checked(upload, size)
    thumb = _thumbnail(data) if content_type.startswith("image/") else None
    key = new_attachment_key()
    clean_name = _clean_name(name, ext)
    file_name, thumb_name = _store(tenant_id=tenant_id, key=key, ext=ext, data=data, thumb=thumb)
    try:
        with transaction.atomic():
            posted: Posted = post(message_body(key=key, name=clean_name))
            if posted.duplicate:  # a resend: the first upload's attachment stands
                delete_files(names=[file_name, thumb_name])
                return Upload(_attachment_of(posted.message), posted)
            attachment = Attachment.objects.create(
                tenant_id=tenant_id, key=key, conversation_id=posted.conversation.pk, message=posted.message,
                sender=sender, author=author, name=clean_name, content_type=content_type, size=len(data),
                file=file_name, thumbnail=thumb_name,
            )
    except BaseException:
        delete_files(names=[file_name, thumb_name])
        raise
    return Upload(attachment, posted)


def _attachment_of(message: Message) -> Attachment:
    found = Attachment.objects.for_tenant(message.tenant_id).filter(message_id=message.pk).first()
    if found is None:  # the client_msg_id was used by a text message
        raise ServiceError(_("This message id was already used."), code=ErrorCode.DUPLICATE)
    return found


def visitor_upload(
    *, contact: Contact, upload: IO[bytes], size: int, name: str, conversation_id: int | None, client_msg_id: str,
    origin: str = "", client_ip: str = "",
) -> Upload:
    """A visitor's file, shown by a visitor message in their conversation (as send_visitor_message)."""

    def post(body: str) -> Posted:
        return send_visitor_message(
            contact=contact, body=body, client_msg_id=client_msg_id, conversation_id=conversation_id,
            origin=origin, client_ip=client_ip,
        )

    return _create(upload=upload, size=size, name=name, post=post, sender=Sender.VISITOR,
                   tenant_id=contact.tenant_id, author=None)


def agent_upload(*, actor: Membership, conversation_id: int, upload: IO[bytes], size: int, name: str) -> Upload:
    """An agent's file, shown by an agent reply in the conversation (as agent_send)."""

    def post(body: str) -> Posted:
        return agent_send(actor=actor, conversation_id=conversation_id, body=body)

    return _create(upload=upload, size=size, name=name, post=post, sender=Sender.AGENT,
                   tenant_id=actor.tenant_id, author=actor)


def delete_attachment_files(*, attachments: Any) -> int:
    """Deletes the stored files of `attachments` (a queryset) once the transaction commits;
    the rows go with their messages. Returns how many attachments."""
    names = [n for pair in attachments.values_list("file", "thumbnail") for n in pair if n]
    transaction.on_commit(lambda: delete_files(names=names))
    return len(names)

