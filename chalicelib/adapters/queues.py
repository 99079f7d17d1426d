"""SQS: the pool's work queue, dedicated tenants' own queues (creation, removal), the system
queue, and the work records (claim checks) sent to them."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import limits
from chalicelib.domain import work_records
from chalicelib.domain.work_records import SystemWork, TenantWork
from chalicelib.errors import QueueError, QueueMissing

if TYPE_CHECKING:  # the stubs are a development dependency (requirements-dev.txt)
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

log = logging.getLogger(__name__)


def queue_name(prefix: str, tenant_id: str, dead_letter: bool = False) -> str:
    """A valid SQS name for any tenant id: sanitised id plus a hash for uniqueness."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", tenant_id)[:32]
    digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:10]
    return f"{prefix}-t-{safe}-{digest}" + ("-dlq" if dead_letter else "")


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return "NonExistentQueue" in code or "QueueDoesNotExist" in code


def system_queue_name(prefix: str) -> str:
    return f"{prefix}-system"


def work_queue_name(prefix: str) -> str:
    return f"{prefix}-work"


_GROUP = re.compile(r"[!-~]{1,128}")  # what SQS accepts as a MessageGroupId


def group_id(tenant_id: str) -> str:
    """The work record's message group: the tenant (fair queues balance by group), as SQS
    accepts it (printable ASCII, at most 128), else a digest of it."""
    return tenant_id if _GROUP.fullmatch(tenant_id) else "t-" + hashlib.sha256(tenant_id.encode()).hexdigest()


BATCH = 10  # SendMessageBatch's limit
SEND_THREADS = 8  # SendMessageBatch calls in flight at once (botocore pools 10 connections)


OLDEST_MESSAGE_ALARM_SECONDS = 900


class EventSourceMappings:
    """In AWS, each tenant queue feeds the dispatch function through its own mapping, with
    its own MaximumConcurrency, so one tenant's backlog never starves another; and each
    tenant gets alarms on its dead-letter queue and on the age of its oldest work record."""

    def __init__(
        self,
        lambda_client: LambdaClient,
        function_arn: str,
        concurrency: int,
        cloudwatch: CloudWatchClient | None = None,
        *,
        batch_size: int = limits.BATCH_SIZE,
        batching_window: int = limits.BATCHING_WINDOW,
        alarm_topic_arn: str | None = None,
    ) -> None:
        self._lambda = lambda_client
        self._function = function_arn
        self._concurrency = concurrency
        self._cloudwatch = cloudwatch
        self._batch_size = batch_size
        self._batching_window = batching_window
        self._alarm_actions = [alarm_topic_arn] if alarm_topic_arn else []

    def alarm(self, queue_name: str, dlq_name: str) -> None:
        if self._cloudwatch is None:
            return
        common: dict[str, Any] = {
            "Namespace": "AWS/SQS",
            "Statistic": "Maximum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": self._alarm_actions,
        }
        self._cloudwatch.put_metric_alarm(
            AlarmName=f"{dlq_name}-depth",
            MetricName="ApproximateNumberOfMessagesVisible",
            Threshold=0,
            Dimensions=[{"Name": "QueueName", "Value": dlq_name}],
            **common,
        )
        self._cloudwatch.put_metric_alarm(
            AlarmName=f"{queue_name}-oldest",
            MetricName="ApproximateAgeOfOldestMessage",
            Threshold=OLDEST_MESSAGE_ALARM_SECONDS,
            Dimensions=[{"Name": "QueueName", "Value": queue_name}],
            **common,
        )

    def unalarm(self, queue_name: str, dlq_name: str) -> None:
        if self._cloudwatch is not None:
            self._cloudwatch.delete_alarms(AlarmNames=[f"{dlq_name}-depth", f"{queue_name}-oldest"])

    def attach(self, queue_arn: str) -> None:
        existing = self._lambda.list_event_source_mappings(EventSourceArn=queue_arn, FunctionName=self._function)
        if existing.get("EventSourceMappings"):
            return
        self._lambda.create_event_source_mapping(
            EventSourceArn=queue_arn,
            FunctionName=self._function,
            BatchSize=self._batch_size,
            MaximumBatchingWindowInSeconds=self._batching_window,
            Enabled=True,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": self._concurrency},
        )

    def detach(self, queue_arn: str) -> None:
        existing = self._lambda.list_event_source_mappings(EventSourceArn=queue_arn, FunctionName=self._function)
        for mapping in existing.get("EventSourceMappings", []):
            self._lambda.delete_event_source_mapping(UUID=mapping["UUID"])


class TenantQueues:
    def __init__(
        self,
        sqs: SQSClient,
        prefix: str,
        visibility_timeout: int,
        mappings: EventSourceMappings | None = None,
        system_queue_url: str | None = None,
        work_queue_url: str | None = None,
    ) -> None:
        self._sqs = sqs
        self._prefix = prefix
        self._visibility = visibility_timeout
        self._mappings = mappings
        self._system_url = system_queue_url
        self._work_url = work_queue_url

    def create(self, tenant_id: str) -> tuple[str, str]:
        """Create (idempotently) the tenant's queue, dead-letter queue, mapping and alarms.

        All or nothing: a failure part-way removes what this call made, so a tenant whose
        provisioning failed leaves no queue behind.
        """
        name, dlq_name = queue_name(self._prefix, tenant_id), queue_name(self._prefix, tenant_id, dead_letter=True)
        made: list[str] = []
        try:
            dlq_url, dlq_arn = self._create_dead_letter(dlq_name, made)
            url = self._sqs.create_queue(QueueName=name, Attributes=self._attributes(dlq_arn))["QueueUrl"]
            made.append(url)
            if self._mappings is not None:
                self._mappings.attach(self._arn(url))
                self._mappings.alarm(name, dlq_name)
        except (BotoCoreError, ClientError) as exc:
            self._undo(made, name, dlq_name)
            raise QueueError(f"cannot create queues for tenant: {exc}") from exc
        return url, dlq_url

    def _create_dead_letter(self, name: str, made: list[str]) -> tuple[str, str]:
        url = str(
            self._sqs.create_queue(
                QueueName=name, Attributes={"MessageRetentionPeriod": str(limits.DEAD_LETTER_RETENTION)}
            )["QueueUrl"]
        )
        made.append(url)
        return url, self._arn(url)

    def _attributes(self, dlq_arn: str) -> dict[QueueAttributeNameType, str]:
        return {
            "VisibilityTimeout": str(self._visibility),
            "MessageRetentionPeriod": str(limits.QUEUE_RETENTION),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": limits.MAX_RECEIVE_COUNT}),
        }

    def _undo(self, made: list[str], name: str, dlq_name: str) -> None:
        """Best effort: remove the mapping, alarms and queues a failed creation left."""
        for url in reversed(made):
            try:
                if self._mappings is not None and not url.endswith("-dlq"):
                    self._mappings.detach(self._arn(url))
                    self._mappings.unalarm(name, dlq_name)
                self._sqs.delete_queue(QueueUrl=url)
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not remove %s after a failed tenant creation: %s", url, exc)

    def _arn(self, url: str) -> str:
        return str(self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    def delete(self, *urls: str | None) -> None:
        for url in urls:
            if not url:
                continue
            try:
                if self._mappings is not None and not url.endswith("-dlq"):
                    self._mappings.detach(self._arn(url))
                    name = url.rsplit("/", 1)[-1]
                    self._mappings.unalarm(name, f"{name}-dlq")
                self._sqs.delete_queue(QueueUrl=url)
            except (BotoCoreError, ClientError) as exc:
                # A queue left behind holds only claim checks; the tenant row is gone.
                log.warning("could not delete queue %s: %s", url, exc)

    def notify(self, queue_url: str | None, record: TenantWork) -> None:
        """Send one work record naming the tenant, to its dedicated queue or (None) to the pool;
        the dispatcher claims from the database."""
        url = queue_url or self.work_url()
        entry: dict[str, Any] = {"MessageBody": work_records.encode(record)}
        if queue_url is None:
            entry["MessageGroupId"] = group_id(record.tenant_id)
        try:
            self._sqs.send_message(QueueUrl=url, **entry)
        except ClientError as exc:
            if _missing(exc):
                raise QueueMissing("the tenant's queue does not exist") from exc
            raise QueueError(f"cannot enqueue work for tenant: {exc}") from exc
        except BotoCoreError as exc:
            raise QueueError(f"cannot enqueue work for tenant: {exc}") from exc

    def notify_pool(self, records: list[TenantWork]) -> list[str]:
        """Work records for pooled tenants, ten to a SendMessageBatch call, each with its tenant
        as message group; returns the tenants whose record was not sent (the next tick's).
        A tick's thousands of records go out over SEND_THREADS calls at a time: one after
        another, 500 calls of ~15 ms would take a fifth of the tick's timeout."""
        chunks = [records[start : start + BATCH] for start in range(0, len(records), BATCH)]
        if len(chunks) <= 1:
            return [t for chunk in chunks for t in self._send_chunk(chunk)]
        url = self.work_url()  # resolved once, not by each thread
        with ThreadPoolExecutor(min(SEND_THREADS, len(chunks))) as pool:
            return [t for failed in pool.map(lambda c: self._send_chunk(c, url), chunks) for t in failed]

    def _send_chunk(self, chunk: list[TenantWork], url: str | None = None) -> list[str]:
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageGroupId": group_id(record.tenant_id), "MessageBody": work_records.encode(record)}
            for i, record in enumerate(chunk)
        ]
        try:
            answer = self._sqs.send_message_batch(QueueUrl=url or self.work_url(), Entries=entries)
        except (BotoCoreError, ClientError, QueueError) as exc:
            log.warning("work records not sent (%d tenants): %s", len(chunk), exc)
            return [record.tenant_id for record in chunk]
        return [chunk[int(f["Id"])].tenant_id for f in answer.get("Failed", [])]

    def work_url(self) -> str:
        """The pool's queue: the template's (its URL in the settings), else looked up by name
        and, if missing, made with the template's attributes."""
        if self._work_url:
            return self._work_url
        self._work_url = self._owned_queue(work_queue_name(self._prefix), "the work queue")
        return self._work_url

    def _owned_queue(self, name: str, what: str) -> str:
        try:
            try:
                return str(self._sqs.get_queue_url(QueueName=name)["QueueUrl"])
            except ClientError as exc:
                if not _missing(exc):
                    raise
            _, dlq_arn = self._create_dead_letter(f"{name}-dlq", [])
            return str(self._sqs.create_queue(QueueName=name, Attributes=self._attributes(dlq_arn))["QueueUrl"])
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"cannot find {what}: {exc}") from exc

    def system_url(self) -> str:
        """The queue for instance-wide work (bounce polls).

        In AWS the template owns it and its URL comes with the settings; elsewhere it is
        looked up by name and, if missing, created with the template's attributes (never
        others: AWS refuses a create whose attributes differ from the existing queue's).
        """
        if self._system_url:
            return self._system_url
        return self._owned_queue(system_queue_name(self._prefix), "the system queue")

    def notify_system(self, record: SystemWork) -> None:
        try:
            self._sqs.send_message(QueueUrl=self.system_url(), MessageBody=work_records.encode(record))
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"cannot enqueue system work: {exc}") from exc

    def ping(self) -> bool:
        """Is the queue service answering? Asks about the system queue, the one queue every
        function that reports status may read."""
        try:
            self._sqs.get_queue_attributes(QueueUrl=self.system_url(), AttributeNames=["QueueArn"])
            return True
        except Exception:  # noqa: BLE001 - health check reports, never raises
            return False
