"""S3-compatible storage for large attachments (AWS, LocalStack, moto, MinIO)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.aws import s3_client
from chalicelib.domain.targets import StorageTarget
from chalicelib.errors import StorageError


class S3Storage:
    """The object storage port, over a tenant's own store and credentials."""

    def upload(self, target: StorageTarget, bucket: str, key: str, data: bytes, content_type: str) -> None:
        try:
            s3_client(target).put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(str(exc)) from exc

    def presigned_get(self, target: StorageTarget, bucket: str, key: str, seconds: int) -> str:
        try:
            return str(
                s3_client(target).generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds
                )
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(str(exc)) from exc
