"""HTTP actions: parameter extraction, the SSRF guard, the call, and the reply.

Plain data in and out (no ORM here), so the inference runtime can call it with a cached
action spec. Rules:
- identity is sent only from the *verified* identity (headers X-Kefu-User-Id /
  X-Kefu-User-Email): the HMAC-verified user id, and an e-mail only when the verified
  identity carries one (``verified_email``); the contact's e-mail label (typed in the
  widget's ``email`` frame) is never identity;
- an action that requires a verified visitor is never called for anyone else
  (``identity_gate``): the visitor is asked to sign in once, then handed off;
- the reply shows only allowed response fields (``response_fields`` + the template's
  placeholders); with no template and no allow-list it shows none;
- private, loopback, link-local, multicast and reserved targets are refused after
  resolving the host, unless host or host:port is in settings.KEFU_ACTION_ALLOWED_HOSTS;
- plain-HTTP calls connect to the address that was checked (no DNS-rebinding window);
  redirects are not followed; a timeout bounds every call.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

ORDER_NUMBER_RE = re.compile(
    r"(?:order|ord|订单)\s*(?:number|no\.?|num|#|号)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{2,19})", re.I
)
BARE_NUMBER_RE = re.compile(r"(?<![\w@.])#?(\d{3,12})(?![\w@])")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
INTEGER_RE = re.compile(r"(?<![\w.])(-?\d{1,12})(?![\w.])")

DEFAULT_PROMPTS = {
    "order_number": "Could you tell me your order number?",
    "email": "Could you tell me the e-mail address you used?",
    "integer": "Could you give me the {label}?",
    "string": "Could you give me the {label}?",
}


class ActionError(Exception):
    """The action could not be called or its answer could not be used."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ActionSpec:
    id: int
    name: str
    method: str
    url_template: str
    parameters: list[dict[str, Any]] = field(default_factory=list)
    auth_header_name: str = ""
    auth_header_value: str = ""
    response_template: str = ""
    response_fields: list[str] = field(default_factory=list)
    read_only: bool = True
    needs_approval: bool = False
    requires_verified_visitor: bool = True
    timeout_s: float = 5.0


# --- parameters ---------------------------------------------------------------------------


def extract_value(kind: str, texts: list[str], name: str = "") -> str | None:
    """The most recent value of the given type in the visitor's texts (newest first)."""
    for text in texts:
        if kind == "email":
            m = EMAIL_RE.search(text)
            if m:
                return m.group(0)
        elif kind == "order_number":
            m = ORDER_NUMBER_RE.search(text)
            if m and any(c.isdigit() for c in m.group(1)):
                return m.group(1).upper()
            cleaned = EMAIL_RE.sub(" ", text)
            m = BARE_NUMBER_RE.search(cleaned)
            if m:
                return m.group(1)
        elif kind == "integer":
            m = INTEGER_RE.search(EMAIL_RE.sub(" ", text))
            if m:
                return m.group(1)
        else:  # string: "name: value" or "name is value"
            label = re.escape(name.replace("_", " "))
            m = re.search(rf"{label}\s*(?:is|:|=)\s*([^\s,;]+)", text, re.I)
            if m:
                return m.group(1)
    return None


def extract_parameters(spec: ActionSpec, visitor_texts: list[str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """(values found, missing required parameter specs). ``visitor_texts`` newest first."""
    values: dict[str, str] = {}
    missing: list[dict[str, Any]] = []
    for param in spec.parameters:
        name = str(param.get("name", ""))
        kind = str(param.get("type", "string"))
        value = extract_value(kind, visitor_texts, name)
        if value is not None:
            values[name] = value
        elif param.get("required", True):
            missing.append(param)
    return values, missing


def prompt_for(param: dict[str, Any]) -> str:
    if param.get("prompt"):
        return str(param["prompt"])
    kind = str(param.get("type", "string"))
    label = str(param.get("name", "value")).replace("_", " ")
    return DEFAULT_PROMPTS.get(kind, DEFAULT_PROMPTS["string"]).format(label=label)


def verified_identity(visitor: dict[str, Any] | None) -> dict[str, str]:
    """Identity to send: the verified user id (and a verified e-mail); empty otherwise.

    ``visitor["email"]`` is the label the visitor typed and is deliberately ignored: only
    ``verified_email``, which the site vouched for together with the user id, is identity.
    """
    if not visitor or visitor.get("verified") is not True or not visitor.get("user_id"):
        return {}
    identity = {"user_id": str(visitor["user_id"])}
    if visitor.get("verified_email"):
        identity["email"] = str(visitor["verified_email"])
    return identity


SIGN_IN_REASON = "identity_required"


def sign_in_text(language: str) -> str:
    """Asks the visitor to sign in on the site, in their language (gettext)."""
    from django.utils import translation

    with translation.override("zh-hans" if language.lower().startswith("zh") else "en"):
        return str(translation.gettext(
            "I can look that up once you are signed in to your account on this site. "
            "Please sign in and ask me again."))


@dataclass(frozen=True)
class IdentityGate:
    """What to do before calling an action: ``call``, ``ask_sign_in`` or ``handoff``."""

    decision: str
    text: str = ""


def identity_gate(spec: ActionSpec, *, identity: dict[str, str], language: str,
                  last_bot_text: str | None) -> IdentityGate:
    """An action that requires a verified visitor is never called for anyone else.

    The first time the visitor is asked to sign in; asked again, the turn goes to a
    person with reason ``identity_required``.
    """
    if not spec.requires_verified_visitor or identity.get("user_id"):
        return IdentityGate("call")
    text = sign_in_text(language)
    if last_bot_text is not None and last_bot_text in {text, sign_in_text("en")}:
        return IdentityGate("handoff")
    return IdentityGate("ask_sign_in", text)


# --- SSRF guard ---------------------------------------------------------------------------------


def _allowed_hosts() -> set[str]:
    from django.conf import settings

    return {h.strip().lower() for h in settings.KEFU_ACTION_ALLOWED_HOSTS if h.strip()}


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return False
    return ip.is_global


@dataclass(frozen=True)
class CheckedTarget:
    url: str
    host: str
    port: int
    address: str  # the resolved address that was checked
    allowed_by_operator: bool


def check_target(url: str) -> CheckedTarget:
    """Refuse non-http(s) URLs and private/loopback/link-local targets (after resolving)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ActionError(f"not an http(s) URL: {url!r}", code="bad_url")
    if parts.username or parts.password:
        raise ActionError("credentials in the URL are not allowed", code="bad_url")
    host = parts.hostname.lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ActionError("bad port", code="bad_url") from None
    allowed = _allowed_hosts()
    operator_ok = host in allowed or f"{host}:{port}" in allowed
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ActionError(f"cannot resolve {host}: {exc}", code="dns") from None
    addresses = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]
        addresses.append(ipaddress.ip_address(raw))
    if not addresses:
        raise ActionError(f"cannot resolve {host}", code="dns")
    if not operator_ok:
        for ip in addresses:
            if not _is_public(ip):
                raise ActionError(f"{host} resolves to a non-public address ({ip})", code="forbidden_target")
    return CheckedTarget(url=url, host=host, port=port, address=str(addresses[0]), allowed_by_operator=operator_ok)


# --- the call --------------------------------------------------------------------------------------


def build_url(template: str, values: dict[str, str]) -> str:
    """Fill {placeholders}; every value is percent-encoded (no path or host injection)."""
    names = [f[1] for f in string.Formatter().parse(template) if f[1]]
    missing = [n for n in names if n not in values]
    if missing:
        raise ActionError(f"missing parameters {missing}", code="missing_parameter")
    return template.format(**{n: quote(str(values[n]), safe="") for n in names})


def call_action(
    spec: ActionSpec, *, values: dict[str, str], identity: dict[str, str], transport: Any = None
) -> dict[str, Any]:
    """Call the action; returns its JSON object. Raises ActionError."""
    import httpx

    url = build_url(spec.url_template, values)
    target = check_target(url)
    headers = {"Accept": "application/json", "User-Agent": "Kefu-Action/1.0"}
    if spec.auth_header_name and spec.auth_header_value:
        headers[spec.auth_header_name] = spec.auth_header_value
    if identity.get("user_id"):
        headers["X-Kefu-User-Id"] = identity["user_id"]
    if identity.get("email"):
        headers["X-Kefu-User-Email"] = identity["email"]
    request_url = url
    parts = urlsplit(url)
    if parts.scheme == "http" and transport is None:
        # Connect to the address we checked; keep the Host header (no rebinding window).
        host_literal = f"[{target.address}]" if ":" in target.address else target.address
        netloc = f"{host_literal}:{target.port}"
        request_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
    body: dict[str, Any] | None = None
    if spec.method == "POST":
        body = dict(values)
        if identity:
            body["verified_identity"] = dict(identity)
    try:
        with httpx.Client(timeout=httpx.Timeout(spec.timeout_s), follow_redirects=False, transport=transport) as c:
            resp = c.request(spec.method, request_url, headers=headers, json=body)
    except httpx.TimeoutException:
        raise ActionError("the action timed out", code="timeout") from None
    except httpx.HTTPError as exc:
        raise ActionError(f"the action failed: {exc.__class__.__name__}", code="http_error") from None
    if resp.status_code == 404:
        raise ActionError("not found", code="not_found")
    if resp.status_code >= 300:
        raise ActionError(f"the action answered HTTP {resp.status_code}", code="http_status")
    try:
        data = resp.json()
    except ValueError:
        raise ActionError("the action did not return JSON", code="bad_response") from None
    if not isinstance(data, dict):
        data = {"result": data}
    return data


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}_"))
        elif isinstance(value, list):
            flat[name] = ", ".join(str(v) for v in value if not isinstance(v, (dict, list)))
        else:
            flat[name] = "" if value is None else str(value)
    return flat


def template_fields(template: str) -> set[str]:
    return {f[1] for f in string.Formatter().parse(template or "") if f[1]}


def allowed_fields(spec: ActionSpec) -> set[str]:
    """Response fields the tenant chose to show: the allow-list and the template's placeholders."""
    return {str(f) for f in spec.response_fields or []} | template_fields(spec.response_template)


def render_reply(spec: ActionSpec, values: dict[str, str], data: dict[str, Any]) -> str:
    """The visitor-facing answer, built only from the parameters and the *allowed* JSON fields.

    Anything else the action returned (another customer's e-mail, name, address) is
    never shown, whatever the action sends back.
    """
    allowed = allowed_fields(spec)
    shown_data = {k: v for k, v in _flatten(data).items() if k in allowed}
    if spec.response_template:
        text = string.Formatter().vformat(spec.response_template, (), _SafeDict({**values, **shown_data}))
        if "{" not in text:
            return text.strip()
    shown = [f"{k.replace('_', ' ')}: {v}" for k, v in shown_data.items() if v and len(v) < 200][:6]
    return "Here is what I found — " + "; ".join(shown) + "." if shown else "The request went through."
