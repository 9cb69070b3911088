"""Prometheus metrics for `monitor run`, fed by domain events.

No stage calls this module: ``Metrics.subscribe`` turns each event on the bus into counter and
histogram updates. Four gauges (outbox rows by state, failing feeds, digests not sent yet, the last
successful poll) are read from the store when scraped, so they are right after a restart too.
Each ``Metrics`` owns its CollectorRegistry rather than the process-global one, so a process (or a
test) can build several; it also holds the standard process and Python collectors and
``monitor_build_info``. A scrape gets the Prometheus text format, or OpenMetrics when its Accept
header asks for it, without the ``_created`` series (``_WithoutCreated``).
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from monitor import __version__, events
from monitor.store.interface import StatusStore

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
DELIVERY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30)
END_OF_TIME = datetime.max.replace(tzinfo=UTC)


class _StoreCollector:
    """Gauges computed from the store at scrape time."""

    def __init__(self, store: StatusStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        outbox = GaugeMetricFamily("monitor_outbox_alerts", "Alerts in the outbox by state.", labels=["state"])
        for state, count in sorted(self.store.outbox.counts().items()):
            outbox.add_metric([state], count)
        yield outbox
        states = self.store.feeds.states()
        failing = sum(1 for s in states if s.consecutive_failures)
        yield GaugeMetricFamily("monitor_feeds_failing", "Feeds whose last poll failed.", value=failing)
        unsent = len(self.store.digests.due(END_OF_TIME))  # every digest not sent, whenever its retry is
        yield GaugeMetricFamily("monitor_digests_unsent", "Digests not sent yet (waiting for a retry).", value=unsent)
        last_ok = max((s.last_ok_at for s in states if s.last_ok_at), default=None)
        yield GaugeMetricFamily(
            "monitor_last_successful_poll_timestamp_seconds",
            "Unix time of the newest successful poll of any feed (0: none yet).",
            value=last_ok.timestamp() if last_ok else 0,
        )


class _WithoutCreated(Collector):
    """A registry as scraped: without the ``_created`` series, a creation timestamp per counter
    and histogram child that nobody graphs (18 of 81 samples of an idle daemon). Scoped to this
    registry, where prometheus_client's ``disable_created_metrics`` switches them off for the
    whole process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            metric.samples = [s for s in metric.samples if s.name != metric.name + "_created"]
            yield metric


class Metrics:
    def __init__(self, store: StatusStore | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("monitor_polls", "Feed polls by outcome.", ["feed", "status"], registry=r)
        self.feed_changes = Counter(
            "monitor_feed_health_changes", "Feeds starting to fail or recovering.", ["feed", "state"], registry=r
        )
        self.items = Counter("monitor_new_items", "Never-seen items stored.", ["feed"], registry=r)
        self.matches = Counter("monitor_matches", "Rule matches.", ["rule"], registry=r)
        self.stories = Counter("monitor_stories", "Stories opened or joined.", ["action"], registry=r)
        self.alerts = Counter(
            "monitor_alerts", "Alert outbox transitions: queued, delivered, retrying, dead.",
            ["destination", "state"], registry=r,
        )  # fmt: skip
        self.dead_letters = Counter("monitor_dead_letters", "Alerts given up on.", ["destination"], registry=r)
        self.digests = Counter("monitor_digests_sent", "Digests sent.", ["destination"], registry=r)
        self.fetch_seconds = Histogram(
            "monitor_fetch_seconds", "Seconds to poll one feed (fetch, parse, store).",
            buckets=FETCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.delivery_seconds = Histogram(
            "monitor_delivery_seconds", "Seconds to deliver one alert.", ["destination"],
            buckets=DELIVERY_BUCKETS, registry=r,
        )  # fmt: skip
        Info("monitor_build", "The running monitor's version and Python's.", registry=r).info(
            {"version": __version__, "python": platform.python_version()}
        )
        ProcessCollector(registry=r)  # process_*: CPU, memory, open files, start time
        PlatformCollector(registry=r)  # python_info
        GCCollector(registry=r)  # python_gc_*
        if store is not None:
            r.register(_StoreCollector(store))
        self.exposed = _WithoutCreated(r)

    def subscribe(self, bus: events.EventBus) -> None:
        handlers = {
            events.FeedPolled: self._polled,
            events.FeedFailing: lambda e: self.feed_changes.labels(e.feed, "failing").inc(),
            events.FeedRecovered: lambda e: self.feed_changes.labels(e.feed, "recovered").inc(),
            events.ItemSeen: lambda e: self.items.labels(e.feed).inc(),
            events.ItemMatched: lambda e: self.matches.labels(e.rule_id).inc(),
            events.StoryOpened: lambda e: self.stories.labels("opened").inc(),
            events.StoryJoined: lambda e: self.stories.labels("joined").inc(),
            events.AlertQueued: lambda e: self.alerts.labels(e.destination, "queued").inc(),
            events.AlertDelivered: self._delivered,
            events.AlertRetrying: lambda e: self.alerts.labels(e.destination, "retrying").inc(),
            events.AlertDead: self._dead,
            events.DigestSent: lambda e: self.digests.labels(e.destination).inc(),
        }
        for event_type, handler in handlers.items():
            bus.subscribe(event_type, handler)

    def _polled(self, event: events.FeedPolled) -> None:
        self.polls.labels(event.feed, event.status).inc()
        self.fetch_seconds.observe(event.seconds)

    def _delivered(self, event: events.AlertDelivered) -> None:
        self.alerts.labels(event.destination, "delivered").inc()
        self.delivery_seconds.labels(event.destination).observe(event.seconds)

    def _dead(self, event: events.AlertDead) -> None:
        self.alerts.labels(event.destination, "dead").inc()
        self.dead_letters.labels(event.destination).inc()

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """Every metric, and its content type: OpenMetrics when ``accept`` (the scraper's Accept
        header) asks for ``application/openmetrics-text``, else the Prometheus text format."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.exposed), content_type
