from tenants import services
from tests.isolation.cases import Case, no_kwargs


def _widget(team):
    widget, _secret = services.create_widget(actor=team.owner, name=f"Secret widget {team.tenant.slug}", allowed_origins="https://x.example")
    return {"pk": widget.pk}, [widget.name, widget.public_key]


def _member(team):
    return {"pk": team.agent.pk}, [team.agent.user.email]


def _invitation(team):
    invitation, _token = services.create_invitation(actor=team.owner, role="agent", email=f"invitee@{team.tenant.slug}.example.com")
    return {"pk": invitation.pk}, [invitation.email]


def _api_key(team):
    key, _raw = services.create_api_key(actor=team.owner, name=f"key-{team.tenant.slug}-secret")
    return {"pk": key.pk}, [key.name, key.prefix]


def _settings_markers(team):
    widget, _secret = services.create_widget(actor=team.owner, name=f"Hidden widget {team.tenant.slug}", allowed_origins="")
    return [widget.name, widget.public_key]


CASES = {
    "portal-home": Case(setup=no_kwargs(), methods=("GET",)),
    "tenants:members": Case(setup=no_kwargs(lambda team: [team.agent.user.email]), methods=("GET", "POST")),
    "tenants:settings": Case(setup=no_kwargs(_settings_markers), methods=("GET", "POST")),
    "member-list": Case(setup=no_kwargs(lambda team: [team.agent.user.email])),
    "member-detail": Case(setup=_member, body={"role": "admin"}),
    "invitation-list": Case(setup=no_kwargs(lambda team: [_invitation(team)[1][0]]), body={"role": "agent"}),
    "invitation-detail": Case(setup=_invitation),
    "widget-list": Case(setup=no_kwargs(lambda team: _widget(team)[1]), body={"name": "w"}),
    "widget-detail": Case(setup=_widget, body={"name": "renamed"}),
    "widget-rotate-secret": Case(setup=_widget),
    "api-key-list": Case(setup=no_kwargs(lambda team: _api_key(team)[1]), body={"name": "k"}),
    "api-key-detail": Case(setup=_api_key),
    "privacy-settings": Case(setup=no_kwargs(), body={"retention_days": 30}),
}
