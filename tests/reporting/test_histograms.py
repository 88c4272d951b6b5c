"""Roll-up histograms: percentiles read from buckets stay within one bucket of the exact
value, the page's distribution counts are exact, and a range past EXACT_LIMIT (set low here
on the hand-built history of test_metrics) keeps every count exact and says on the page and
in the API that its medians come from buckets."""

from __future__ import annotations

import random
from html import unescape

import pytest
from django.urls import reverse

from chat.reporting import histogram, selectors
from chat.reporting.compute import percentile
from tests.reporting.test_metrics import _f, hist  # noqa: F401 (the hand-built history fixture)


def _within_bucket(estimate: float, exact: float) -> bool:
    return abs(estimate - exact) <= max(1.0, histogram.RELATIVE_WIDTH * exact + 1.0)


def test_bucket_percentiles_within_one_bucket_of_exact():
    rng = random.Random(7)
    for n in (1, 2, 9, 250, 5000):
        values = [round(rng.lognormvariate(5.5, 1.6), 1) for _ in range(n)]
        h = histogram.from_values(values)
        half = histogram.Accumulator()  # the same values split over two rows of one period
        for part in (values[: n // 2], values[n // 2 :]):
            half.add(0, histogram.from_values(part))
        assert int(half.matrix(1).sum()) == n
        for q in (0.5, 0.9):
            exact = percentile(values, q)
            assert exact is not None
            assert histogram.percentiles(half.matrix(1), q)[0] == histogram.percentile(h, q)
            estimate = histogram.percentile(h, q)
            assert estimate is not None and _within_bucket(estimate, exact), (n, q, estimate, exact)


def test_display_counts_exact_at_the_page_edges():
    values = [0, 0.5, 59.9, 60, 61, 299.9, 300, 899, 900, 1800, 3599.9, 3600, 14400, 86399, 86400, 10**7]
    h = histogram.from_values(values)
    acc = histogram.Accumulator()
    acc.add(1, h)
    m = acc.matrix(2)
    assert histogram.display_counts(m[1]) == [3, 3, 2, 1, 2, 1, 2, 2]
    assert histogram.display_counts(m[0]) == [0] * 8
    assert histogram.percentiles(m, 0.5)[0] is None and histogram.percentile([], 0.5) is None


@pytest.mark.django_db
def test_bucketed_range_keeps_counts_exact_and_says_so(hist, monkeypatch, client):  # noqa: F811
    exact = selectors.dashboard(tenant=hist["tenant"], filters=_f())
    assert exact["percentiles"]["exact"] is True
    monkeypatch.setattr(selectors, "EXACT_LIMIT", 0)
    est = selectors.dashboard(tenant=hist["tenant"], filters=_f())
    assert est["percentiles"] == {"exact": False, "exact_up_to": 0, "precision": selectors.PERCENTILE_PRECISION}
    assert est["totals"] == exact["totals"] and est["histograms"] == exact["histograms"]
    assert est["first_response"]["cycles"] == 6 and est["resolution"]["cycles"] == 9
    # Hand-worked answers (test_metrics): FRT median 180, p90 450; resolution 600, 1320.
    for metric, q, answer in (("first_response", "median", 180), ("first_response", "p90", 450),
                              ("resolution", "median", 600), ("resolution", "p90", 1320)):
        assert _within_bucket(est[metric][q], answer), (metric, q, est[metric][q])
    by_day = {p["period"]: p for p in est["series"]}
    assert _within_bucket(by_day["2024-03-05"]["first_response"]["median"], 600)


@pytest.mark.django_db
def test_the_page_states_how_close_its_times_are(hist, team_a, monkeypatch, client):  # noqa: F811
    client.force_login(team_a.agent.user)
    url = reverse("reporting:dashboard", args=[hist["tenant"].slug]) + "?from=2024-03-04&to=2024-03-05"
    assert "Times: exact." in client.get(url).content.decode()
    monkeypatch.setattr(selectors, "EXACT_LIMIT", 0)
    body = unescape(client.get(url).content.decode())
    assert f"estimated from histogram buckets, {selectors.PERCENTILE_PRECISION}; counts exact." in body
