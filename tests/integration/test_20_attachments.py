"""Catalogue group 20_attachments: base64, HTTP and large files (S3), unicode."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from email.message import EmailMessage
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests

from devstack.aws import MotoServer
from devstack.procs import free_port
from devstack.stack import Stack
from tests.support.api import ApiClient
from tests.support.echo import EchoServer
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle


def b64(data: bytes) -> str:
    return "base64:" + base64.b64encode(data).decode()


def send_and_receive(admin: ApiClient, handle: TenantHandle, **over: object) -> EmailMessage:
    msg = handle.message(**over)
    admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
    return eventually(lambda: handle.sink.by_id(msg["id"]), what="delivery")[0].message


def final_error(admin: ApiClient, handle: TenantHandle, **over: object) -> str:
    msg = handle.message(**over)
    admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
    record = eventually(
        lambda: (m := admin.message(handle.id, msg["id"])) and m["status"] == "error" and m, what="error status"
    )
    return str(record["error"])


def attachments_of(email: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in email.iter_attachments()}


class TestAttachmentsBase64:
    def test_base64_encoded_attachment_sent_correctly(self, admin: ApiClient, tenant: TenantHandle) -> None:
        data = bytes(range(256)) * 4
        email = send_and_receive(
            admin, tenant, attachments=[{"filename": "{MD5:0123}dir/data.bin", "storage_path": b64(data).rstrip("=")}]
        )
        assert email.get_content_type() == "multipart/mixed"
        assert attachments_of(email) == {"data.bin": data}


class TestHttpAttachmentFetch:
    def test_single_http_url_attachment_fetched(self, admin: ApiClient, tenant: TenantHandle, echo: EchoServer) -> None:
        echo.files["/files/report.pdf"] = b"%PDF-1.4 report"
        email = send_and_receive(
            admin, tenant, attachments=[{"filename": "report.pdf", "storage_path": f"{echo.url}/files/report.pdf"}]
        )
        part = next(email.iter_attachments())
        assert part.get_content_type() == "application/pdf"
        assert part.get_content() == b"%PDF-1.4 report"

    def test_multiple_http_urls_fetched_in_parallel(
        self, admin: ApiClient, tenant: TenantHandle, echo: EchoServer
    ) -> None:
        echo.delay = 0.5
        for i in range(3):
            echo.files[f"/f{i}.txt"] = f"file {i}".encode()
        email = send_and_receive(
            admin,
            tenant,
            attachments=[{"filename": f"f{i}.txt", "storage_path": f"{echo.url}/f{i}.txt"} for i in range(3)],
        )
        assert attachments_of(email) == {f"f{i}.txt": f"file {i}".encode() for i in range(3)}
        assert echo.max_in_flight >= 2, "downloads overlapped"

    def test_endpoint_attachment_fetched_from_client_application(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, echo: EchoServer
    ) -> None:
        handle = make_tenant(
            sink, tenant={"client_base_url": echo.url, "client_auth": {"method": "basic", "user": "u", "password": "p"}}
        )
        echo.files["doc-42"] = b"document body"
        email = send_and_receive(admin, handle, attachments=[{"filename": "doc.txt", "storage_path": "doc-42"}])
        assert attachments_of(email) == {"doc.txt": b"document body"}
        request = next(r for r in echo.requests if r["path"] == "/mail-proxy/attachments")
        assert request["headers"]["Authorization"].startswith("Basic ")
        assert request["headers"]["X-Mail-Proxy-Signature"].startswith("t=")

    def test_timeout_handled_gracefully(self, admin: ApiClient, tenant: TenantHandle, echo: EchoServer) -> None:
        echo.delay = 5  # the stack's MAILPROXY_ATTACHMENT_TIMEOUT is 2 s
        echo.files["/slow.bin"] = b"late"
        error = final_error(
            admin, tenant, attachments=[{"filename": "slow.bin", "storage_path": f"{echo.url}/slow.bin"}]
        )
        assert error == "Attachment fetch failed for slow.bin: timed out"

    def test_invalid_url_handled_gracefully(self, admin: ApiClient, tenant: TenantHandle, echo: EchoServer) -> None:
        error = final_error(
            admin, tenant, attachments=[{"filename": "gone.txt", "storage_path": f"{echo.url}/missing"}]
        )
        assert error == "Attachment fetch failed for gone.txt: HTTP 404"
        bad = final_error(admin, tenant, attachments=[{"filename": "x.txt", "storage_path": "base64:%%%"}])
        assert bad == "Attachment fetch failed for x.txt: invalid base64 content"


@pytest.fixture
def bucket(stack: Stack) -> str:
    """The stack's own large-files bucket: with the deployment's credentials (no storage keys
    in the tenant's config) the dispatch function's role may write there and nowhere else."""
    assert stack.deployment is not None
    return str(stack.deployment.outputs["LargeFilesBucketName"])


def large_tenant(make_tenant: TenantFactory, sink: SmtpSink, **config: object) -> TenantHandle:
    return make_tenant(sink, tenant={"large_file_config": {"enabled": True, "max_size_mb": 0.01, **config}})


BIG = b"x" * 20_000  # > 0.01 MB
SMALL = b"y" * 100


class TestLargeFileStorage:
    def test_small_attachment_sent_inline(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, bucket: str
    ) -> None:
        handle = large_tenant(make_tenant, sink, action="rewrite", storage_url=f"s3://{bucket}/mail")
        email = send_and_receive(admin, handle, attachments=[{"filename": "s.txt", "storage_path": b64(SMALL)}])
        assert attachments_of(email) == {"s.txt": SMALL}

    def test_large_attachment_uploaded_to_s3_link_in_email(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, bucket: str, stack: Stack
    ) -> None:
        handle = large_tenant(make_tenant, sink, action="rewrite", storage_url=f"s3://{bucket}/mail", file_ttl_days=30)
        email = send_and_receive(
            admin, handle, body="See below.", attachments=[{"filename": "big file.bin", "storage_path": b64(BIG)}]
        )
        assert list(email.iter_attachments()) == []
        body = email.get_content()
        assert "---" in body and "Download" in body
        line = next(li for li in body.splitlines() if li.startswith("- big file.bin ("))
        url = line.split(": ", 1)[1].strip()
        assert int(parse_qs(urlparse(url).query)["X-Amz-Expires"][0]) == 604800
        assert requests.get(url, timeout=10).content == BIG

    def test_action_reject_returns_error_for_large_files(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
    ) -> None:
        handle = large_tenant(make_tenant, sink, action="reject")
        error = final_error(admin, handle, attachments=[{"filename": "big.bin", "storage_path": b64(BIG)}])
        assert error == "Attachment 'big.bin' (0.0 MB) exceeds limit (0.01 MB)"

    def test_action_warn_sends_with_warning(self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink) -> None:
        handle = large_tenant(make_tenant, sink, action="warn")
        email = send_and_receive(admin, handle, attachments=[{"filename": "big.bin", "storage_path": b64(BIG)}])
        assert attachments_of(email) == {"big.bin": BIG}

    def test_mix_of_small_and_large_attachments_handled(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, bucket: str
    ) -> None:
        handle = large_tenant(make_tenant, sink, action="rewrite", storage_url=f"s3://{bucket}/p")
        email = send_and_receive(
            admin,
            handle,
            content_type="html",
            body="<p>Hi</p>",
            attachments=[
                {"filename": "small.txt", "storage_path": b64(SMALL)},
                {"filename": "<big>.bin", "storage_path": b64(BIG)},
            ],
        )
        assert attachments_of(email) == {"small.txt": SMALL}
        html_part = next(p for p in email.walk() if p.get_content_type() == "text/html")
        html = html_part.get_content()
        assert "&lt;big&gt;.bin</a>" in html and '<a href="' in html

    def test_file_actually_exists_in_bucket(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, bucket: str, stack: Stack
    ) -> None:
        handle = large_tenant(
            make_tenant,
            sink,
            action="rewrite",
            storage_url=f"s3://{bucket}/stored",
            public_base_url="https://files.example.com/",
        )
        email = send_and_receive(admin, handle, attachments=[{"filename": "f.bin", "storage_path": b64(BIG)}])
        url = next(li for li in email.get_content().splitlines() if li.startswith("- f.bin")).split(": ", 1)[1]
        key = url.strip().removeprefix("https://files.example.com/")
        assert key.startswith("stored/") and key.endswith("/f.bin")
        s3 = boto3.client("s3", endpoint_url=stack.aws_url, region_name="us-east-1")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == BIG


class TestTenantLargeFileConfigApi:
    CONFIG = {
        "enabled": True,
        "max_size_mb": 5,
        "action": "rewrite",
        "storage_url": "s3://b/prefix",
        "storage_access_key_id": "AKIA",
        "storage_secret_access_key": "very-secret",
        "file_ttl_days": 3,
    }

    def test_tenant_created_with_s3_config(self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink) -> None:
        handle = make_tenant(sink, tenant={"large_file_config": self.CONFIG})
        stored = admin.ok("GET", f"/tenant/{handle.id}")["large_file_config"]
        assert stored == {k: v for k, v in self.CONFIG.items() if k != "storage_secret_access_key"}

    def test_s3_config_updated_via_api(self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink) -> None:
        handle = make_tenant(sink, tenant={"large_file_config": self.CONFIG})
        update = {k: v for k, v in self.CONFIG.items() if k != "storage_secret_access_key"}
        admin.ok("PUT", f"/tenant/{handle.id}", json={"large_file_config": {**update, "max_size_mb": 1}})
        assert admin.ok("GET", f"/tenant/{handle.id}")["large_file_config"]["max_size_mb"] == 1
        bad = admin.put(f"/tenant/{handle.id}", json={"large_file_config": {"enabled": True, "action": "shred"}})
        assert bad.status_code == 422

    def test_s3_config_can_be_disabled(self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink) -> None:
        handle = make_tenant(sink, tenant={"large_file_config": self.CONFIG})
        admin.ok("PUT", f"/tenant/{handle.id}", json={"large_file_config": {"enabled": False}})
        assert admin.ok("GET", f"/tenant/{handle.id}")["large_file_config"] == {"enabled": False}


class TestUnicodeEncoding:
    def test_emoji_preserved_in_subject_line(self, admin: ApiClient, tenant: TenantHandle) -> None:
        assert send_and_receive(admin, tenant, subject="Party 🎉🎂 time")["Subject"] == "Party 🎉🎂 time"

    def test_emoji_preserved_in_message_body(self, admin: ApiClient, tenant: TenantHandle) -> None:
        email = send_and_receive(admin, tenant, body="Thumbs 👍 up 🚀")
        assert email.get_content().rstrip("\r\n") == "Thumbs 👍 up 🚀"

    def test_cjk_arabic_cyrillic_characters_preserved(self, admin: ApiClient, tenant: TenantHandle) -> None:
        text = "中文 日本語 한국어 العربية Русский"
        email = send_and_receive(admin, tenant, subject=text, body=text, content_type="html")
        assert email["Subject"] == text and email.get_content().rstrip("\r\n") == text

    def test_unicode_filenames_handled_correctly(self, admin: ApiClient, tenant: TenantHandle) -> None:
        email = send_and_receive(
            admin, tenant, attachments=[{"filename": "résumé 履歴書.txt", "storage_path": b64(b"cv")}]
        )
        assert attachments_of(email) == {"résumé 履歴書.txt": b"cv"}


@pytest.fixture(scope="module")
def tenant_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A tenant's own S3-compatible store on another endpoint (a moto server standing in for
    the MinIO a tenant would run), reached with the tenant's own keys."""
    server = MotoServer(free_port(), log_dir=tmp_path_factory.mktemp("tenant-store")).start()
    yield server
    server.stop()


class TestLargeFilesInTheTenantsOwnStore:
    """The tenant's keys act as themselves, never as the dispatch function's role: the role
    may write only to the stack's bucket, and the tenant's bucket is none of its business."""

    def _tenant(self, make_tenant: TenantFactory, sink: SmtpSink, store: MotoServer, bucket: str) -> TenantHandle:
        # The emulator's usual keys, which a tenant may well type: still not the role's.
        return large_tenant(
            make_tenant,
            sink,
            action="rewrite",
            storage_url=f"s3://{bucket}/own",
            storage_endpoint_url=store.url,
            storage_access_key_id="test",
            storage_secret_access_key="test",
        )

    def test_a_large_attachment_becomes_a_link_into_the_tenants_bucket(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, tenant_store: MotoServer
    ) -> None:
        s3 = boto3.client(
            "s3",
            endpoint_url=tenant_store.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket="tenant-own-files")
        handle = self._tenant(make_tenant, sink, tenant_store, "tenant-own-files")
        email = send_and_receive(
            admin, handle, body="Files:", attachments=[{"filename": "report.bin", "storage_path": b64(BIG)}]
        )
        assert list(email.iter_attachments()) == []
        url = next(li for li in email.get_content().splitlines() if li.startswith("- report.bin (")).split(": ", 1)[1]
        assert url.strip().startswith(tenant_store.url + "/tenant-own-files/own/")
        assert requests.get(url.strip(), timeout=10).content == BIG
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tenant-own-files")["Contents"]]
        assert len(keys) == 1 and keys[0].endswith("/report.bin")

    def test_a_failed_upload_is_attached_inline_and_the_message_says_why(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, tenant_store: MotoServer
    ) -> None:
        handle = self._tenant(make_tenant, sink, tenant_store, "no-such-bucket")
        msg = handle.message(attachments=[{"filename": "heavy.bin", "storage_path": b64(BIG)}])
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        email = eventually(lambda: sink.by_id(msg["id"]), what="delivery")[0].message
        assert attachments_of(email) == {"heavy.bin": BIG}  # a heavy message, not a lost file
        history = admin.messages(handle.id, include_history="1")[0]["history"]
        sent = next(h for h in history if h["event_type"] == "sent")
        [why] = sent["metadata"]["large_file_fallbacks"]
        assert why.startswith("heavy.bin: upload to no-such-bucket failed, attached instead:")
        assert "NoSuchBucket" in why and "AccessDenied" not in why
