"""The local function runner: what AWS does outside our code, done locally.

It stands in for Lambda event source mappings (one poller per tenant queue, batches in
Lambda's SQS event shape, partial batch failures honoured, visibility timeout left to
SQS) and for EventBridge schedules (each scheduled function every MAILPROXY_SCHEDULE_TICK
seconds). It calls the very same handlers that run in AWS.

Run: python -m devstack.runner
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters import aws
from chalicelib.config import Settings, get_settings

log = logging.getLogger("mailproxy.runner")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and powertools read."""

    function_name: str
    timeout_s: float = 900.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    log_group_name: str = "local"
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's SQS event for a received batch."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def schedule_event(rule: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{rule}"],
            "detail": {}}


class QueuePoller(threading.Thread):
    """One event source mapping: long-polls a queue and invokes the dispatch handler."""

    def __init__(self, runner: LocalRunner, url: str) -> None:
        super().__init__(name=f"poller-{url.rsplit('/', 1)[-1]}", daemon=True)
        self.runner = runner
        self.url = url
        self.sqs = runner.sqs

    def run(self) -> None:
        try:
            arn = self.sqs.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        except ClientError:
            self.runner.forget(self.url)
            return
        while not self.runner.stopping.is_set():
            try:
                received = self.sqs.receive_message(
                    QueueUrl=self.url, MaxNumberOfMessages=self.runner.batch_size,
                    WaitTimeSeconds=self.runner.wait_seconds, AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except ClientError as exc:
                if "NonExistentQueue" in str(exc) or "QueueDoesNotExist" in str(exc):
                    break
                log.warning("receive failed on %s: %s", self.url, exc)
                self.runner.stopping.wait(1)
                continue
            except Exception as exc:  # noqa: BLE001 - endpoint restarting; keep polling
                log.warning("receive failed on %s: %s", self.url, exc)
                self.runner.stopping.wait(1)
                continue
            if received:
                self.invoke(received, arn)
        self.runner.forget(self.url)

    def invoke(self, messages: list[dict[str, Any]], arn: str) -> None:
        event = sqs_event(messages, arn, self.runner.settings.aws_region)
        try:
            result = self.runner.dispatch(event, LambdaContext("mail-proxy-dispatch"))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            log.exception("dispatch invocation failed")
            return
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )


class LocalRunner:
    def __init__(
        self, settings: Settings, dispatch: Handler, schedules: dict[str, Handler],
        batch_size: int = 10, wait_seconds: int = 1,
    ) -> None:
        self.settings = settings
        self.sqs = aws.client("sqs", settings)
        self.dispatch = dispatch
        self.schedules = schedules
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.stopping = threading.Event()
        self._pollers: dict[str, QueuePoller] = {}
        self._lock = threading.Lock()

    def forget(self, url: str) -> None:
        with self._lock:
            self._pollers.pop(url, None)

    def discover(self) -> None:
        prefix = self.settings.queue_prefix
        try:
            listed = self.sqs.list_queues(QueueNamePrefix=f"{prefix}-").get("QueueUrls", [])
            # Tenant queues and the system queue; each is one event source mapping in AWS.
            urls = [u for u in listed if u.rsplit("/", 1)[-1].startswith(f"{prefix}-t-")
                    or u.rsplit("/", 1)[-1] == f"{prefix}-system"]
        except Exception as exc:  # noqa: BLE001 - endpoint not answering; try next round
            log.warning("cannot list queues: %s", exc)
            return
        with self._lock:
            for url in urls:
                if url.endswith("-dlq") or url in self._pollers:
                    continue
                poller = QueuePoller(self, url)
                self._pollers[url] = poller
                poller.start()

    def tick(self) -> None:
        for name, handler in self.schedules.items():
            try:
                handler(schedule_event(name), LambdaContext(name))
            except Exception:
                log.exception("scheduled function %s failed", name)

    def run(self) -> None:
        next_tick = time.monotonic()
        while not self.stopping.is_set():
            self.discover()
            if time.monotonic() >= next_tick:
                self.tick()
                next_tick = time.monotonic() + self.settings.schedule_tick
            self.stopping.wait(min(0.5, self.settings.schedule_tick))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from functions import dispatch, scheduler

    schedules: dict[str, Handler] = {
        "mail-proxy-retry": scheduler.retry_handler,
        "mail-proxy-reports": scheduler.reports_handler,
        "mail-proxy-retention": scheduler.retention_handler,
        "mail-proxy-bounces": scheduler.bounces_handler,
    }
    runner = LocalRunner(get_settings(), dispatch.handler, schedules)
    signal.signal(signal.SIGTERM, lambda *_: runner.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: runner.stopping.set())
    log.info("local function runner up (tick %ss)", runner.settings.schedule_tick)
    runner.run()


if __name__ == "__main__":
    main()
