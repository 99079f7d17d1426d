"""Large attachments through real S3-compatible storage (moto server over HTTP)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import boto3
import requests

from chalicelib.adapters import aws
from chalicelib.adapters.storage import S3Storage
from chalicelib.domain.targets import StorageTarget
from chalicelib.services import tenants
from chalicelib.services.ports import Ports
from devstack.aws import MotoServer
from devstack.procs import rss_mb
from tests.support.factories import unique
from tests.support.runs import dispatch_tenant
from tests.support.world import ADMIN, World

BIG = b"z" * 30_000


def test_rewrite_uploads_and_links_and_upload_failure_attaches(
    make_world: Callable[..., World], ports: Ports, moto_server: MotoServer
) -> None:
    bucket = unique("fn").lower()
    boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1").create_bucket(Bucket=bucket)
    world = make_world(ports)
    config = {"enabled": True, "max_size_mb": 0.01, "action": "rewrite", "storage_url": f"s3://{bucket}/x"}
    tenants.update(ports, ADMIN, world.tenant_id, {"large_file_config": config})
    attachment = {"filename": "big.bin", "storage_path": "base64:" + base64.b64encode(BIG).decode()}
    linked = world.message(attachments=[attachment])
    world.submit(linked)
    dispatch_tenant(ports, world.tenant_id)
    email = world.sink.by_id(linked["id"])[0].message
    assert list(email.iter_attachments()) == []
    assert "- big.bin (0.0 MB): " in email.get_content()

    tenants.update(
        ports, ADMIN, world.tenant_id, {"large_file_config": {**config, "storage_url": "s3://no-such-bucket"}}
    )
    attached = world.message(attachments=[attachment])
    world.submit(attached)
    dispatch_tenant(ports, world.tenant_id)
    email = world.sink.by_id(attached["id"])[0].message
    assert [p.get_filename() for p in email.iter_attachments()] == ["big.bin"]


def test_many_tenants_stores_each_sign_with_their_own_key_in_bounded_memory(moto_server: MotoServer) -> None:
    """A warm dispatch environment meets every pooled tenant's store. A boto3 session per store
    parsed the S3 model again each time (about 12 MB apiece: forty stores filled a 512 MB
    function); the stores share one session now, and only the most recently used are kept."""
    bucket = unique("many").lower()
    boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1").create_bucket(Bucket=bucket)
    count = aws.TENANT_S3_CLIENTS_KEPT + 36
    targets = [StorageTarget(moto_server.url, "us-east-1", f"AKIDTENANT{i:04d}", f"secret{i}") for i in range(count)]
    storage = S3Storage()
    storage.upload(targets[0], bucket, "first.bin", b"first", "application/octet-stream")
    first = aws.s3_client(targets[0])
    before = rss_mb()
    for i, target in enumerate(targets):
        link = storage.presigned_get(target, bucket, "first.bin", 60)
        assert f"X-Amz-Credential=AKIDTENANT{i:04d}%2F" in link, link  # each tenant's own key signs
    grown = rss_mb() - before
    assert grown < 80, f"{grown:.0f} MB for {count} tenants' stores"
    assert aws.s3_client(targets[-1]) is aws.s3_client(targets[-1]), "a store in use keeps its client"
    assert aws.s3_client(targets[0]) is not first, "the least recently used store's client was let go"
    storage.upload(targets[0], bucket, "again.bin", b"again", "application/octet-stream")
    assert requests.get(storage.presigned_get(targets[0], bucket, "again.bin", 60), timeout=10).content == b"again"
