"""Package the functions and deploy the stack to AWS or any AWS-compatible endpoint.

    python -m infra.deploy --stack mail-proxy --database-url postgresql://...   # to AWS
    AWS_ENDPOINT_URL=http://127.0.0.1:5000 python -m infra.deploy ...            # moto server

The package holds app.py, chalicelib/ and functions/, plus the runtime requirements built
for Lambda (manylinux x86_64, CPython 3.11) unless --no-deps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3

from infra.template import build

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("app.py", "chalicelib", "functions")


def package(out: Path, with_deps: bool = True) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as deps, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        if with_deps:
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "-r", str(ROOT / "requirements.txt"), "--target", deps, "--platform", "manylinux2014_x86_64",
                 "--python-version", "3.11", "--implementation", "cp", "--only-binary=:all:"],
                check=True)
            for path in sorted(Path(deps).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, path.relative_to(deps))
        for source in SOURCES:
            base = ROOT / source
            files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
            for path in files:
                if "__pycache__" not in path.parts:
                    zf.write(path, path.relative_to(ROOT))
    return out


def _wait(cf: Any, stack: str, timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = str(cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return status
        time.sleep(2)


def deploy(stack: str, database_url: str, *, with_deps: bool = True, queue_prefix: str = "mailproxy",
           region: str | None = None) -> dict[str, str]:
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    session = boto3.session.Session(region_name=region)
    s3 = session.client("s3", endpoint_url=endpoint)
    cf = session.client("cloudformation", endpoint_url=endpoint)
    account = session.client("sts", endpoint_url=endpoint).get_caller_identity()["Account"]

    archive = package(ROOT / "infra" / "build" / "mailproxy.zip", with_deps=with_deps)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    bucket = f"{stack.lower()}-artifacts-{account}-{region}"
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    key = f"mailproxy-{digest}.zip"
    s3.upload_file(str(archive), bucket, key)

    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in {
        "CodeBucket": bucket, "CodeKey": key, "DatabaseUrl": database_url, "QueuePrefix": queue_prefix}.items()]
    body = json.dumps(build())
    existing = [s for s in cf.list_stacks()["StackSummaries"]
                if s["StackName"] == stack and s["StackStatus"] != "DELETE_COMPLETE"]
    if existing:
        cf.update_stack(StackName=stack, TemplateBody=body, Parameters=parameters,
                        Capabilities=["CAPABILITY_IAM"])
    else:
        cf.create_stack(StackName=stack, TemplateBody=body, Parameters=parameters,
                        Capabilities=["CAPABILITY_IAM"])
    status = _wait(cf, stack)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise RuntimeError(f"stack {stack} ended {status}")
    outputs = cf.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="mail-proxy")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--queue-prefix", default="mailproxy")
    parser.add_argument("--no-deps", action="store_true", help="package our code only (for emulators)")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    outputs = deploy(args.stack, args.database_url, with_deps=not args.no_deps, queue_prefix=args.queue_prefix)
    print(json.dumps(outputs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
