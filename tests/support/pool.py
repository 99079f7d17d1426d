"""The pool's work queue, read directly (functional tier, where no runner consumes it)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.services.ports import Ports


def drain_pool(ports: Ports) -> list[dict[str, Any]]:
    """Every work record now in the pool, removed from it: body fields plus its group."""
    sqs = ports.queues._sqs  # type: ignore[attr-defined]
    url = ports.queues.work_url()
    records: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageSystemAttributeNames=["MessageGroupId"]
        ).get("Messages", [])
        if not got:
            return records
        for message in got:
            records.append(
                {**json.loads(message["Body"]), "group": message.get("Attributes", {}).get("MessageGroupId")}
            )
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
