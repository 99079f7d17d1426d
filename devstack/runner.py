"""The local function runner: what AWS does outside our code, done locally from the template.

It stands in for Lambda's event source mappings and EventBridge schedules, as the built
template declares them (devstack.deployment): each mapped queue is polled by up to the
mapping's MaximumConcurrency pollers (no more than the function's local environments),
batches of up to its BatchSize (gathered for its
batching window) go to the function in Lambda's SQS event shape, and only the records not
named in ``batchItemFailures`` are deleted; a failed or timed-out invocation deletes none,
so SQS makes them visible again after the queue's visibility timeout. A mapping onto a queue
whose visibility timeout is below the function's timeout is refused, as AWS refuses it.
Scheduled functions fire every MAILPROXY_SCHEDULE_TICK seconds (the template's rate, sped up
for local use). Functions run in devstack.functions hosts: the packaged code, with the
template's timeout, memory, environment and role.

Run: python -m devstack.runner DEPLOYMENT_JSON
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from devstack.deployment import Deployment, QueueMapping
from devstack.functions import FunctionHost, InvocationError

log = logging.getLogger("mailproxy.runner")


@dataclass
class LambdaContext:
    """Lambda's context object, for calling a handler in-process (functional tests)."""

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
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{rule}"],
        "detail": {},
    }


class MappingRefused(Exception):
    pass


class QueuePoller(threading.Thread):
    """One poller of an event source mapping: receive a batch, invoke, delete what succeeded."""

    def __init__(self, runner: LocalRunner, url: str, mapping: QueueMapping, index: int) -> None:
        super().__init__(name=f"poller-{url.rsplit('/', 1)[-1]}-{index}", daemon=True)
        self.runner = runner
        self.url = url
        self.mapping = mapping
        self.function = runner.host(mapping.function)
        self.sqs = runner.sqs

    def check(self) -> str:
        """The queue's ARN; refuses as AWS refuses CreateEventSourceMapping."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn", "VisibilityTimeout"])[
            "Attributes"
        ]
        visibility = int(attributes["VisibilityTimeout"])
        if visibility < self.function.spec.timeout:
            raise MappingRefused(
                f"queue visibility timeout ({visibility}s) is less than the function timeout "
                f"({self.function.spec.timeout:.0f}s) of {self.function.spec.name}"
            )
        return str(attributes["QueueArn"])

    def receive(self) -> list[dict[str, Any]]:
        wanted = self.mapping.batch_size
        deadline = time.monotonic() + self.mapping.window
        batch: list[dict[str, Any]] = []
        while len(batch) < wanted:
            got: list[Any] = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, wanted - len(batch)),
                WaitTimeSeconds=self.runner.wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            batch.extend(got)
            if (not got and batch) or time.monotonic() >= deadline:
                break
        return batch

    def run(self) -> None:
        try:
            arn = self.check()
        except MappingRefused as exc:
            log.error("event source mapping refused: %s", exc)
            return
        except ClientError:
            self.runner.forget(self.url)
            return
        while not self.runner.stopping.is_set():
            try:
                received = self.receive()
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
        event = sqs_event(messages, arn, self.runner.region)
        try:
            result = self.function.invoke(event)
        except InvocationError:
            return  # nothing deleted: SQS shows the records again after the visibility timeout
        failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            try:
                self.sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
            except Exception as exc:  # noqa: BLE001 - the records come back; work records are claim checks
                log.warning("delete failed on %s: %s", self.url, exc)


class LocalRunner:
    def __init__(
        self,
        deployment: Deployment,
        endpoint: str | None = None,
        region: str = "us-east-1",
        wait_seconds: int = 1,
        dispatch_environments: int = 8,
    ) -> None:
        self.deployment = deployment
        self.region = region
        self.sqs = boto3.session.Session(region_name=region).client("sqs", endpoint_url=endpoint)
        self.wait_seconds = wait_seconds
        self.dispatch_environments = dispatch_environments
        self.stopping = threading.Event()
        self._hosts: dict[str, FunctionHost] = {}
        self._pollers: dict[str, list[QueuePoller]] = {}
        self._lock = threading.RLock()

    def host(self, logical: str) -> FunctionHost:
        with self._lock:
            if logical not in self._hosts:
                mapped = any(m.function == logical for m in self.deployment.queue_mappings())
                self._hosts[logical] = self.deployment.host(
                    logical, max_environments=self.dispatch_environments if mapped else 1
                )
            return self._hosts[logical]

    def forget(self, url: str) -> None:
        with self._lock:
            self._pollers.pop(url, None)

    def _start(self, url: str, mapping: QueueMapping) -> None:
        if url in self._pollers:
            return
        # No more pollers than the function has environments here: in Lambda each poller's
        # batch gets an environment of its own; a poller waiting for one would only hold its
        # records out of the queue while they age.
        count = min(mapping.max_concurrency, self.host(mapping.function).max_environments)
        pollers = [QueuePoller(self, url, mapping, i) for i in range(count)]
        self._pollers[url] = pollers
        for poller in pollers:
            poller.start()

    def discover(self) -> None:
        for mapping in self.deployment.queue_mappings():
            try:
                if mapping.queue_url:
                    urls = [mapping.queue_url]
                else:
                    prefix = mapping.name_prefix or ""
                    listed = self.sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
                    urls = [u for u in listed if not u.endswith("-dlq")]
            except Exception as exc:  # noqa: BLE001 - endpoint not answering; try next round
                log.warning("cannot list queues: %s", exc)
                continue
            with self._lock:
                for url in urls:
                    self._start(url, mapping)

    def tick(self) -> None:
        for logical, rule in self.deployment.schedules.items():
            try:
                self.host(logical).invoke(schedule_event(f"{logical}-{rule}"))
            except InvocationError as exc:
                log.error("scheduled function %s failed: %s", logical, exc)

    def run(self) -> None:
        next_tick = time.monotonic()
        tick = self.deployment.schedule_tick
        while not self.stopping.is_set():
            self.discover()
            if time.monotonic() >= next_tick:
                self.tick()
                next_tick = time.monotonic() + tick
            self.stopping.wait(min(0.5, tick))
        for host in list(self._hosts.values()):
            host.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    deployment = Deployment.load(Path(sys.argv[1]))
    env = deployment.extra_env
    runner = LocalRunner(deployment, env.get("AWS_ENDPOINT_URL"), env.get("AWS_REGION", "us-east-1"))
    signal.signal(signal.SIGTERM, lambda *_: runner.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: runner.stopping.set())
    log.info("local function runner up (tick %ss)", deployment.schedule_tick)
    runner.run()


if __name__ == "__main__":
    main()
