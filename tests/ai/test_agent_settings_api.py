"""Per-tenant threshold overrides (AIPolicy.agent_settings) through the AI policy API:
known fields are stored with their field's type and reach the agent's settings; unknown
fields or bad values are a 400 and change nothing. (No models run here.)"""

from __future__ import annotations

from ml.dialogue.settings import AgentSettings
from ml.selectors import policy_dict


def test_agent_settings_are_validated_stored_and_read_by_the_agent(client, team_a):
    client.force_login(team_a.owner.user)
    url = f"/api/t/{team_a.tenant.slug}/ai-policy/"
    r = client.patch(url, {"agent_settings": {"action_intent_confidence": "0.7", "complaint_action": "handoff",
                                              "rewrite_follow_ups": False}}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["agent_settings"] == {"action_intent_confidence": 0.7, "complaint_action": "handoff",
                                          "rewrite_follow_ups": False}
    settings = AgentSettings.from_policy(policy_dict(tenant=team_a.tenant))
    assert (settings.action_intent_confidence, settings.complaint_action, settings.rewrite_follow_ups) == \
        (0.7, "handoff", False)
    assert settings.max_bot_turns == policy_dict(tenant=team_a.tenant)["max_bot_turns"]  # policy fields still apply
    for bad in ({"no_such_threshold": 1}, {"slot_asks": "many"}, {"rewrite_follow_ups": "yes"}, ["x"]):
        r = client.patch(url, {"agent_settings": bad}, content_type="application/json")
        assert r.status_code == 400, (bad, r.content)
    assert client.get(url).json()["agent_settings"]["action_intent_confidence"] == 0.7
