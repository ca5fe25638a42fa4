"""Central's /metrics counts the syncs it serves: pages, operations applied, rows pulled."""

from __future__ import annotations

from typing import Any

from tests.test_monitoring import metric


def test_metrics_count_pushed_operations_and_pulled_rows(world: dict[str, Any]) -> None:
    central, a, b = world["central"], world["a"], world["b"]
    scrape = central.app.test_client()
    before = scrape.get("/metrics").get_data(as_text=True)
    sent_before = len(a.outbox())
    for n in range(3):
        a.add_family(world["c1"], head_given_names=f"Rosa {n}", head_surname="Metricas")
    sent = len(a.outbox()) - sent_before  # each family and what its creation wrote with it
    assert sent >= 3
    assert a.sync().ok
    assert b.sync().ok
    after = scrape.get("/metrics").get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("fieldapp_sync_operations_total", result="applied") == sent
    assert grew("fieldapp_sync_operations_total", result="rejected") == 0
    assert grew("fieldapp_sync_actions_total", action="push", ok="true") >= 1
    assert grew("fieldapp_sync_actions_total", action="pull", ok="true") >= 2
    assert grew("fieldapp_sync_pulled_rows_total") >= 3  # node B received the three families
    assert grew("fieldapp_sync_action_duration_seconds_count", action="push") >= 1
    assert metric(after, "fieldapp_info", role="central") == 1
