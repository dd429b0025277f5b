"""Alerts through Prefect: the events a run emits, and the automations that notify a person.

A run emits Prefect events for what an operator must hear about (``prefect.events.emit_event``):

- ``newsflow.feed.silent`` / ``newsflow.feed.gone``: a feed newly marked silent or gone by this
  run's poll (payload: feed id, title, why, last success);
- ``newsflow.check.failed``: a blocking check failed (payload: table, suite, failed checks,
  rows quarantined);
- ``newsflow.volume.anomaly``: the daily-volume suite flagged a source (payload: failed checks
  with their observed values).

``install_automations`` (``newsflow server up``, ``newsflow server alerts``) creates one Prefect
automation per alert, each sending a notification through one Prefect notification block
(setting ``NEWSFLOW_ALERT_BLOCK``; a Custom Webhook block by default, created from
``NEWSFLOW_ALERT_WEBHOOK_URL`` when that is set). Events are emitted only inside a Prefect flow
run (a run without Prefect has nowhere to send them); emitting never fails a run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)

EVENT_PREFIX = "newsflow"
FEED_SILENT = "newsflow.feed.silent"
FEED_GONE = "newsflow.feed.gone"
CHECK_FAILED = "newsflow.check.failed"
VOLUME_ANOMALY = "newsflow.volume.anomaly"
AUTOMATION_PREFIX = "newsflow: "
WEBHOOK_BLOCK_TYPE = "custom-webhook"


def emit(event: str, resource_id: str, payload: Mapping[str, Any], *,
         name: str | None = None) -> bool:
    """Emit one newsflow event, related to the current flow run; True if it was handed to
    Prefect. Outside a flow run (a run without Prefect, a test) nothing is sent."""
    try:
        from prefect.context import FlowRunContext
        from prefect.events import emit_event

        context = FlowRunContext.get()
        if context is None or context.flow_run is None:
            return False
        resource = {"prefect.resource.id": resource_id}
        if name:
            resource["prefect.resource.name"] = name
        related = [{"prefect.resource.id": f"prefect.flow-run.{context.flow_run.id}",
                    "prefect.resource.role": "flow-run",
                    "prefect.resource.name": context.flow_run.name}]
        sent = emit_event(event=event, resource=resource, related=related,
                          payload=dict(payload))
        return sent is not None
    except Exception as exc:  # an alert is a view of stored facts, never a reason to fail
        log.warning("could not emit %s: %s", event, exc)
        return False


def feed_changes(before: Mapping[str, str | None], after: Iterable[Mapping[str, Any]]
                 ) -> list[tuple[str, dict[str, Any]]]:
    """(event, payload) for each feed whose health became silent or gone in this run."""
    found = []
    for row in after:
        status = row.get("status")
        if status not in ("silent", "gone") or before.get(row["feed_id"]) == status:
            continue
        found.append((FEED_SILENT if status == "silent" else FEED_GONE, {
            "feed_id": row["feed_id"], "url": row.get("url"), "title": row.get("title"),
            "status": status, "was": before.get(row["feed_id"]), "why": row.get("why"),
            "last_success_at": str(row.get("last_success_at") or ""),
            "consecutive_failures": row.get("consecutive_failures")}))
    return found


def emit_feed_changes(before: Mapping[str, str | None], after: Iterable[Mapping[str, Any]]
                      ) -> int:
    """Emit the feed events of ``feed_changes``; returns how many there were."""
    changes = feed_changes(before, after)
    for event, payload in changes:
        emit(event, f"newsflow.feed.{payload['feed_id']}", payload,
             name=str(payload.get("title") or payload.get("url") or payload["feed_id"]))
    return len(changes)


def check_events(report: Any, run_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, payload) for a check report: a blocking failure, and a volume anomaly."""
    failed = [r for r in report.results if not r.success]
    if not failed:
        return []
    checks = [{"check": r.expectation, "severity": r.severity, "column": r.column,
               "observed": r.observed_value, "unexpected": r.unexpected_count,
               "sample": list(r.unexpected_sample[:5])} for r in failed]
    base = {"run_id": run_id, "table": report.table, "suite": report.suite,
            "stage": report.stage, "rows": report.row_count}
    events = []
    if report.blocking_failed:
        events.append((CHECK_FAILED, {**base, "failed": checks,
                                      "quarantined": len(report.quarantine())}))
    if report.stage == "volume":
        events.append((VOLUME_ANOMALY, {**base, "failed": checks}))
    return events


def emit_check_events(report: Any, run_id: str) -> int:
    """Emit the events of ``check_events`` for one report; returns how many."""
    events = check_events(report, run_id)
    for event, payload in events:
        emit(event, f"newsflow.check.{payload['suite']}", payload, name=payload["suite"])
    return len(events)


# -- automations (created on a Prefect server by `newsflow server up`) -------------------------

_BODY_EVENT = ("{{ event.event }} on {{ event.resource.get('prefect.resource.name') or "
               "event.resource.id }}\n{{ event.payload | tojson }}")
_BODY_RUN = ("Flow run {{ flow_run.name }} ({{ flow_run.id }}) of {{ flow.name }} is "
             "{{ flow_run.state.name }}: {{ flow_run.state.message }}")


def automations(block_id: Any, *, interval_s: int, flow: str = "pipeline") -> list[Any]:
    """The automations newsflow installs: failed or crashed run; a run not completed within
    2 x its interval; a feed newly silent or gone; a blocking check failing; a volume anomaly."""
    from prefect.automations import Automation, EventTrigger, Posture, SendNotification

    def notify(subject: str, body: str) -> list[Any]:
        return [SendNotification(block_document_id=block_id, subject=subject, body=body)]

    runs: dict[str, str | list[str]] = {"prefect.resource.id": "prefect.flow-run.*"}
    of_flow: dict[str, str | list[str]] = {"prefect.resource.role": "flow",
                                           "prefect.resource.name": flow}
    rows = [
        ("run failed or crashed", EventTrigger(
            match=runs, match_related=of_flow, posture=Posture.Reactive, threshold=1,
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            within=timedelta(0)),
         "newsflow: {{ flow.name }} run {{ flow_run.state.name }}", _BODY_RUN),
        ("run overdue", EventTrigger(
            match=runs, match_related=of_flow, posture=Posture.Proactive, threshold=1,
            expect={"prefect.flow-run.Completed"},
            within=timedelta(seconds=2 * interval_s)),
         f"newsflow: no {flow} run completed in {2 * interval_s} s",
         f"No {flow} run completed within 2 x its interval ({interval_s} s)."),
        ("feed silent or gone", EventTrigger(
            match={"prefect.resource.id": "newsflow.feed.*"}, posture=Posture.Reactive,
            expect={FEED_SILENT, FEED_GONE}, threshold=1, within=timedelta(0)),
         "newsflow: {{ event.event }}", _BODY_EVENT),
        ("blocking check failed", EventTrigger(
            match={"prefect.resource.id": "newsflow.check.*"}, posture=Posture.Reactive,
            expect={CHECK_FAILED}, threshold=1, within=timedelta(0)),
         "newsflow: a blocking check failed", _BODY_EVENT),
        ("volume anomaly", EventTrigger(
            match={"prefect.resource.id": "newsflow.check.*"}, posture=Posture.Reactive,
            expect={VOLUME_ANOMALY}, threshold=1, within=timedelta(0)),
         "newsflow: volume anomaly", _BODY_EVENT),
    ]
    return [Automation(name=AUTOMATION_PREFIX + name, description=f"newsflow alert: {name}",
                       trigger=trigger, actions=notify(subject, body))
            for name, trigger, subject, body in rows]


def alert_block_id(block: str, webhook_url: str | None) -> Any:
    """The id of the notification block ``block`` ("<block-type-slug>/<name>"); a Custom
    Webhook block of that name is created (or updated) first when ``webhook_url`` is given.
    None when the block does not exist."""
    from prefect.blocks.core import Block
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    slug, _, name = block.partition("/")
    if webhook_url:
        if slug != WEBHOOK_BLOCK_TYPE:
            from transforms.errors import ConfigError

            raise ConfigError(f"NEWSFLOW_ALERT_WEBHOOK_URL needs a {WEBHOOK_BLOCK_TYPE}/<name> "
                              f"block, not {block!r}")
        hook = CustomWebhookNotificationBlock(
            name=name, url=webhook_url, headers=None, cookies=None, json_data={
                "subject": "{{subject}}", "body": "{{body}}", "source": "newsflow"})
        return hook.save(name, overwrite=True)
    try:
        loaded: Any = Block.load(block)  # a sync call: a Block, not a coroutine
        return loaded._block_document_id
    except ValueError:
        return None


def install_automations(block: str, webhook_url: str | None, *, interval_s: int
                        ) -> list[str]:
    """Create (or replace) newsflow's automations on the Prefect API in use; returns their
    names, or an empty list when the notification block does not exist."""
    from prefect.client.orchestration import get_client

    block_id = alert_block_id(block, webhook_url)
    if block_id is None:
        return []
    wanted = automations(block_id, interval_s=interval_s)
    with get_client(sync_client=True) as client:
        for automation in wanted:
            for old in client.read_automations_by_name(automation.name):
                client.delete_automation(old.id)
            automation.create()
    return [a.name for a in wanted]
