"""Large attachments through real S3-compatible storage (moto server over HTTP)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import boto3

from chalicelib.services import tenants
from chalicelib.services.ports import Ports
from devstack.aws import MotoServer
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
