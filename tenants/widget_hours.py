"""Writes for a widget's business hours and away message (the rules live in tenants.business_hours)."""

from __future__ import annotations

import json
import re
from typing import Any

from django.utils.translation import gettext as _

from tenants import business_hours
from tenants.errors import ServiceError
from tenants.models import Membership, Widget
from tenants.services import check_admin


def set_widget_hours(
    *,
    actor: Membership,
    widget_id: int,
    time_zone: str | None = None,
    schedule: Any = None,
    holidays: Any = None,
    away_message: str | None = None,
) -> Widget:
    """Change what is given (None = keep); a bad zone, interval or date refuses the whole change."""
    check_admin(actor)
    widget = Widget.objects.for_tenant(actor.tenant).filter(pk=widget_id).first()
    if widget is None:
        raise ServiceError(_("Widget not found."), code="not_found")
    fields: dict[str, Any] = {}
    try:
        schedule, holidays = _from_form_text(schedule, holidays)
        if time_zone is not None:
            fields["time_zone"] = business_hours.validate_time_zone(time_zone.strip())
        if schedule is not None:
            fields["business_hours"] = business_hours.validate_schedule(schedule)
        if holidays is not None:
            fields["holidays"] = business_hours.validate_holidays(holidays)
    except ValueError as exc:
        raise ServiceError(_("Invalid business hours: %(error)s") % {"error": exc}, code="invalid") from exc
    if away_message is not None:
        fields["away_message"] = away_message.strip()[:500]
    for key, value in fields.items():
        setattr(widget, key, value)
    if fields:
        widget.save(update_fields=list(fields))
    return widget


def _from_form_text(schedule: Any, holidays: Any) -> tuple[Any, Any]:
    """The settings page posts the schedule as JSON text and holidays as a comma separated list."""
    if isinstance(schedule, str):
        try:
            schedule = json.loads(schedule) if schedule.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError("the weekly schedule is not valid JSON") from exc
    if isinstance(holidays, str):
        holidays = [d for d in re.split(r"[,\s]+", holidays) if d]
    return schedule, holidays
