"""Knowledge-gap clustering and extractive drafts with the real MiniLM encoder."""

from __future__ import annotations

from ml.learning.gaps import cluster_questions, draft_article

PASSWORD = ["How do I reset my password?", "I forgot my password, how can I change it?",
            "password reset link not working", "Can't log in, need to reset my password",
            "how to recover my account password"]
REFUND = ["When will I get my refund?", "How long does a refund take?", "refund still not received",
          "I returned the item, where is my money back?"]
DELIVERY = ["Do you deliver to Canada?", "Can you ship to Canada?", "international shipping to Canada"]
NOISE = ["What colour is your logo?"]


def test_clusters_sorted_by_count_with_examples(encode):
    qs = [{"id": i, "text": t, "conversation_id": f"c{i}"}
          for i, t in enumerate(PASSWORD + REFUND + DELIVERY + NOISE + ["reset password, mail me at x.y@example.com"])]
    clusters = cluster_questions(qs, encode=encode, similarity=0.5)
    assert [c.count for c in clusters] == sorted((c.count for c in clusters), reverse=True)
    top = clusters[0]
    assert "password" in top.representative.lower() and top.count >= 5
    assert all("password" in e.lower() or "account" in e.lower() for e in top.examples)
    refund = next(c for c in clusters if "refund" in c.representative.lower() or "money" in c.representative.lower())
    assert refund.count >= 3 and set(refund.question_ids) <= set(range(5, 9))
    assert not any("logo" in c.representative for c in clusters)  # singleton dropped
    assert "x.y@example.com" not in repr(clusters)
    assert [c.id for c in clusters] == list(range(1, len(clusters) + 1))


def test_draft_article_is_extractive_and_redacted(encode):
    clusters = cluster_questions(PASSWORD, encode=encode, similarity=0.4, min_count=2)
    answers = [
        {"id": 11, "text": "Hi there! Go to Settings > Security and click 'Reset password'. "
                           "The reset link is valid for 24 hours. Have a nice day!"},
        {"id": 12, "text": "Hello. Click 'Reset password' under Settings > Security. "
                           "I've also sent a link to jane@example.com for order 1001."},
        {"id": 13, "text": "The reset link is valid for 24 hours. If it expired, request a new one from the login page."},
    ]
    draft = draft_article(clusters[0], answers, encode=encode)
    assert draft["title"].endswith("?") or draft["title"]
    body = draft["body"]
    assert "Reset password" in body and "24 hours" in body
    assert "jane@example.com" not in body and "<EMAIL>" not in body and "1001" not in body
    assert "Have a nice day" not in body and not body.startswith("Hi")
    originals = " ".join(a["text"] for a in answers)
    for sentence in body.split("\n\n"):
        assert sentence in originals  # nothing invented
    assert draft["sentences"][0]["support"] >= 2  # said by two agents, ranked first
    assert set(draft["sources"]) <= {11, 12, 13}
    empty = draft_article(clusters[0], ["Hi! Thanks for reaching out.", "Your order #A-99812 ships today."],
                          encode=encode)
    assert empty["body"] == "" and empty["empty_reason"]
