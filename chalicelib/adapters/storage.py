"""S3-compatible storage for large attachments (AWS, LocalStack, moto, MinIO)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import TargetError


class StorageError(TargetError):
    pass


@dataclass(frozen=True)
class StorageTarget:
    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None


_lock = threading.Lock()
_clients: dict[StorageTarget, Any] = {}


def _client(target: StorageTarget) -> Any:
    with _lock:
        if target not in _clients:
            session = boto3.session.Session(
                aws_access_key_id=target.access_key_id, aws_secret_access_key=target.secret_access_key,
                region_name=target.region)
            # Custom endpoints (MinIO, LocalStack) want path-style addressing.
            style = "path" if target.endpoint_url else "auto"
            _clients[target] = session.client(
                "s3", endpoint_url=target.endpoint_url,
                config=Config(s3={"addressing_style": style}, signature_version="s3v4",
                              retries={"max_attempts": 3, "mode": "standard"}))
        return _clients[target]


def upload(target: StorageTarget, bucket: str, key: str, data: bytes, content_type: str) -> None:
    try:
        _client(target).put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(str(exc)) from exc


def presigned_get(target: StorageTarget, bucket: str, key: str, seconds: int) -> str:
    try:
        return str(_client(target).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds))
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(str(exc)) from exc
