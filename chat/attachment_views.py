"""Attachment routes at the site root (chat.public_urls): the widget's upload (visitor
token, from the customer's site) and the file itself for the conversation's visitor
(?token=) or a member of the tenant (session). The inbox uploads through the API
(ConversationViewSet.attachments). Files answer with a strict CSP and nosniff; anything
but an image is a download."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from chat import services
from chat.attachment_selectors import attachment_for_member, attachment_for_visitor
from chat.models import Attachment
from chat.presenters import message_payload
from chat.services.attachments import Upload, visitor_upload
from tenants import selectors as tenant_selectors
from tenants.errors import ErrorCode, ServiceError
from tenants.origins import origin_allowed

_MULTIPART_SLACK = 64 * 1024  # form fields and part headers around the file


def attachment_payload(attachment: Attachment, *, token: str = "") -> dict[str, Any]:
    query = f"?token={token}" if token else ""
    url = reverse("attachment-file", args=[attachment.key])
    return {
        "key": attachment.key,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": url + query,
        "thumbnail_url": reverse("attachment-thumbnail", args=[attachment.key]) + query if attachment.thumbnail else "",
    }


def upload_payload(upload: Upload, *, token: str = "", for_agent: bool = False) -> dict[str, Any]:
    return {
        "attachment": attachment_payload(upload.attachment, token=token),
        "message": message_payload(upload.posted.message, for_agent=for_agent),
        "duplicate": upload.posted.duplicate,
    }


def _error(message: str, code: ErrorCode, origin: str = "") -> JsonResponse:
    response = JsonResponse({"error": {"code": str(code), "message": message}}, status=code.http_status)
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    return response


def too_large(request: HttpRequest) -> bool:
    """Refuse before Django reads (and spools to disk) a body that cannot fit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.KEFU_ATTACHMENT_MAX_BYTES + _MULTIPART_SLACK


@csrf_exempt  # no cookies: the visitor token in the form authenticates
@require_POST
def widget_upload(request: HttpRequest, public_key: str) -> HttpResponse:
    widget = tenant_selectors.widget_by_public_key(public_key=public_key)
    origin = request.headers.get("Origin", "")
    if widget is None:
        return _error(_("Unknown widget."), ErrorCode.NOT_FOUND)
    if origin and not origin_allowed(widget=widget, origin=origin):
        return _error(_("This site may not use the chat."), ErrorCode.FORBIDDEN)
    if too_large(request):
        mb = round(settings.KEFU_ATTACHMENT_MAX_BYTES / 1024 / 1024, 1)
        return _error(_("The file is too large (at most %(mb)s MB).") % {"mb": mb}, ErrorCode.TOO_LONG, origin)
    token, user_id = request.POST.get("token", ""), request.POST.get("user_id", "")
    upload = request.FILES.get("file")
    try:
        if not token and not user_id:
            raise ServiceError(_("Invalid chat session."), code=ErrorCode.BAD_TOKEN)
        if upload is None:
            raise ServiceError(_("No file was sent."), code=ErrorCode.EMPTY)
        contact = services.resolve_visitor(
            widget=widget, token=token, user_id=user_id, user_hash=request.POST.get("user_hash", "")
        )
        conversation = request.POST.get("conversation_id", "")
        done = visitor_upload(
            contact=contact, upload=upload, size=upload.size or 0, name=upload.name or "",
            conversation_id=int(conversation) if conversation.isdigit() else None,
            client_msg_id=request.POST.get("client_msg_id", ""), origin=origin,
            client_ip=request.META.get("REMOTE_ADDR", ""),
        )
    except ServiceError as exc:
        return _error(exc.message, exc.code, origin)
    response = JsonResponse(upload_payload(done, token=token or services.make_visitor_token(contact=contact)),
                            status=200 if done.posted.duplicate else 201)
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    return response


def _allowed(request: HttpRequest, key: str) -> tuple[Attachment, bool]:
    """The attachment and whether a visitor token (not a session) opened it; 404 otherwise
    (never says whether the key exists)."""
    token = request.GET.get("token", "")
    found = attachment_for_visitor(token=token, key=key) if token else None
    if found is not None:
        return found, True
    found = attachment_for_member(user=request.user, key=key)
    if found is None:
        raise Http404
    return found, False


def _file_response(attachment: Attachment, name: str, content_type: str, by_token: bool) -> FileResponse:
    is_image = content_type.startswith("image/")
    response = FileResponse(
        default_storage.open(name, "rb"), content_type=content_type, as_attachment=not is_image,
        filename=attachment.name,
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    response["Referrer-Policy"] = "no-referrer"
    if by_token:  # shown by the widget inside the customer's page
        response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def attachment_file(request: HttpRequest, key: str) -> FileResponse:
    attachment, by_token = _allowed(request, key)
    return _file_response(attachment, attachment.file.name, attachment.content_type, by_token)


@require_GET
def attachment_thumbnail(request: HttpRequest, key: str) -> FileResponse:
    attachment, by_token = _allowed(request, key)
    if not attachment.thumbnail:
        raise Http404
    return _file_response(attachment, attachment.thumbnail.name, "image/jpeg", by_token)
