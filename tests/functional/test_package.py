"""The artifact ``make package`` builds: what Lambda would import, run and enforce.

Each function's handler is imported from the unpacked deployment.zip alone, in an isolated
interpreter (``python -I -S``), with the template's environment variables; the wheels are
the ones Lambda's python3.11 runtime can load; and the local Lambda stand-in enforces the
template's timeout and memory as Lambda does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

from devstack.aws import MotoServer
from devstack.cfn import Context, Template
from devstack.deployment import Deployment, QueueMapping
from devstack.functions import Environment, FunctionHost, FunctionSpec, InvocationError, unpack
from devstack.runner import LocalRunner, MappingRefused, QueuePoller
from devstack.stack import ensure_package
from infra.package import BUILD

pytestmark = pytest.mark.functional

RUNTIME_GLIBC_MINOR = 26  # Lambda's python3.11 runtime: Amazon Linux 2, glibc 2.26


@pytest.fixture(scope="session")
def built() -> Template:
    """The built template, its intrinsics resolved against placeholder physical ids."""
    ensure_package()
    template = Template.load(Context({"DatabaseUrl": "postgresql://u@db.invalid:5432/mailproxy"}))
    template.ctx.refs.update({k: f"{k}-local" for k in template.resources})
    return template


@pytest.fixture(scope="session")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ensure_package()
    return unpack(BUILD / "deployment.zip", tmp_path_factory.mktemp("task"))


def spec_of(template: Template, logical: str) -> FunctionSpec:
    props = template.resources[logical]["Properties"]
    variables = template.resolve(props.get("Environment", {})).get("Variables", {})
    return FunctionSpec(
        logical=logical,
        name=template.function_name(logical),
        handler=props["Handler"],
        timeout=float(props["Timeout"]),
        memory=int(props["MemorySize"]),
        environment={k: str(v) for k, v in variables.items()},
    )


def test_every_function_of_the_template_imports_from_the_package_alone(
    built: Template, task_root: Path, tmp_path: Path
) -> None:
    functions = built.functions()
    assert {
        "APIHandler",
        "DispatchFunction",
        "RetryFunction",
        "ReportsFunction",
        "RetentionFunction",
        "BouncesFunction",
        "MigrateFunction",
    } <= set(functions)
    for logical in functions:
        spec = spec_of(built, logical)
        env = Environment(spec, task_root, tmp_path / f"{logical}.log", None, extra_env={})
        try:
            assert env.init_error is None, (logical, (tmp_path / f"{logical}.log").read_text()[-2000:])
        finally:
            env.kill()


def test_every_dependency_is_loaded_from_the_package(task_root: Path) -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import boto3, botocore, chalice, psycopg, psycopg_pool, aiosmtplib, aws_lambda_powertools, jsonschema,"
        " cryptography.fernet, prometheus_client, requests;"
        "mods = [boto3, botocore, chalice, psycopg, psycopg_pool, aiosmtplib, aws_lambda_powertools, jsonschema,"
        " cryptography, prometheus_client, requests];"
        "outside = [m.__name__ for m in mods if not m.__file__.startswith(sys.argv[1])];"
        "assert not outside, outside; import psycopg.pq; print(psycopg.pq.__impl__)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(task_root)], capture_output=True, text=True, cwd=task_root
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "binary", "psycopg's C implementation from the manylinux wheel"


def lambda_can_load(tag: str) -> bool:
    """Is this wheel tag loadable by Lambda's python3.11 runtime on x86_64?"""
    python, abi, platform = tag.split("-")
    if platform == "any":
        return True
    if python not in ("cp37", "cp38", "cp39", "cp310", "cp311") or abi not in ("cp311", "abi3", "none"):
        return False
    if platform.startswith("manylinux_"):
        major, minor, arch = platform.removeprefix("manylinux_").split("_", 2)
        return (int(major), int(minor)) <= (2, RUNTIME_GLIBC_MINOR) and arch == "x86_64"
    return platform in ("manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")


def test_the_wheels_are_for_lambdas_python311_x86_64_runtime() -> None:
    with zipfile.ZipFile(BUILD / "deployment.zip") as zf:
        names = zf.namelist()
        wheels = {
            name.split("/")[0]: [
                line[4:].strip() for line in zf.read(name).decode().splitlines() if line.startswith("Tag:")
            ]
            for name in names
            if name.endswith(".dist-info/WHEEL")
        }
    assert {
        "app.py",
        "chalice/app.py",
        "functions/dispatch.py",
        "functions/migrate.py",
        "chalicelib/sql/001_init.sql",
    } <= set(names)
    assert {"psycopg_binary-3.3.9.dist-info", "cryptography-50.0.2.dist-info"} <= set(wheels)
    for wheel, tags in wheels.items():
        assert any(lambda_can_load(tag) for tag in tags), (wheel, tags)
    objects = [n for n in names if n.endswith(".so")]
    assert objects and all("x86_64" in n or "abi3" in n for n in objects), objects


@pytest.fixture
def toy_root(tmp_path: Path) -> Path:
    (tmp_path / "toy.py").write_text(
        "import time\n"
        "def sleepy(event, context):\n"
        "    time.sleep(event['seconds'])\n"
        "    return {'left_ms': context.get_remaining_time_in_millis()}\n"
        "def broken(event, context):\n"
        "    raise ValueError('no such thing')\n"
        "def hungry(event, context):\n"
        "    block = bytearray(event['mb'] * 1024 * 1024)\n"
        "    time.sleep(1)\n"
        "    return len(block)\n"
    )
    return tmp_path


def toy(root: Path, handler: str, timeout: float = 1.0, memory: int = 128) -> FunctionHost:
    spec = FunctionSpec(
        logical="Toy", name="toy", handler=f"toy.{handler}", timeout=timeout, memory=memory, environment={}
    )
    return FunctionHost(spec, root, root, max_environments=1)


def test_a_function_past_its_timeout_is_ended_as_lambda_ends_it(toy_root: Path) -> None:
    host = toy(toy_root, "sleepy", timeout=1.0)
    try:
        assert host.invoke({"seconds": 0})["left_ms"] > 500, "the context counts down from the timeout"
        with pytest.raises(InvocationError) as failure:
            host.invoke({"seconds": 5})
        assert failure.value.kind == "Function.Timeout"
        assert host.invoke({"seconds": 0})["left_ms"] > 500
        assert host.cold_starts == 2, "the timed-out environment was discarded"
    finally:
        host.stop()


def test_an_unhandled_exception_is_one_json_line_with_its_traceback(toy_root: Path) -> None:
    host = toy(toy_root, "broken")
    try:
        with pytest.raises(InvocationError):
            host.invoke({})
    finally:
        host.stop()
    logged = [json.loads(line) for line in (toy_root / "function-toy.log").read_text().splitlines() if line.strip()]
    [error] = [entry for entry in logged if entry.get("level") == "ERROR"]
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "no such thing"
    assert any("raise ValueError" in frame for frame in error["stackTrace"])


def test_a_function_over_its_memory_is_killed(toy_root: Path) -> None:
    host = toy(toy_root, "hungry", timeout=10.0, memory=128)
    try:
        assert host.invoke({"mb": 16}) == 16 * 1024 * 1024
        with pytest.raises(InvocationError) as failure:
            host.invoke({"mb": 300})
        assert failure.value.kind == "Runtime.OutOfMemory"
    finally:
        host.stop()


def test_a_mapping_onto_a_queue_whose_visibility_is_below_the_timeout_is_refused(
    moto_server: MotoServer, toy_root: Path
) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_server.url, region_name="us-east-1")
    short = sqs.create_queue(QueueName="short-visibility", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    long = sqs.create_queue(QueueName="long-visibility", Attributes={"VisibilityTimeout": "720"})["QueueUrl"]
    spec = FunctionSpec(
        logical="Dispatch", name="dispatch", handler="toy.sleepy", timeout=120, memory=128, environment={}
    )
    deployment = Deployment(
        task_root=str(toy_root),
        log_dir=str(toy_root),
        functions={"Dispatch": spec.__dict__},
        api_function="",
        api_paths={},
        binary_media_types=[],
        schedules={},
        mappings=[],
        extra_env={},
        call_log=str(toy_root / "calls"),
        schedule_tick=60,
    )
    runner = LocalRunner(deployment, moto_server.url)
    mapping = QueueMapping(function="Dispatch", batch_size=10, window=0, max_concurrency=1, queue_url=short)
    with pytest.raises(MappingRefused, match="less than the function timeout"):
        QueuePoller(runner, short, mapping, 0).check()
    assert QueuePoller(runner, long, mapping, 0).check().endswith(":long-visibility")


def test_the_built_templates_numbers_keep_awss_rules(built: Template) -> None:
    """Read from template.json itself: every mapping in it, and the tenant queues the API
    makes (their numbers are the API function's environment), at the defaults and at the
    edge of what each parameter allows an operator to set."""
    from chalicelib import limits

    functions = built.functions()
    timeouts = {logical: int(r["Properties"]["Timeout"]) for logical, r in functions.items()}
    parameters = built.body["Parameters"]
    queues = built.of_type("AWS::SQS::Queue")
    api_env = spec_of(built, "APIHandler").environment
    dispatch_env = spec_of(built, "DispatchFunction").environment
    edges = [
        (
            int(api_env["MAILPROXY_VISIBILITY_TIMEOUT"]),
            int(dispatch_env["MAILPROXY_CLAIM_LEASE"]),
            int(api_env["MAILPROXY_TENANT_BATCH_SIZE"]),
        ),
        (
            int(parameters["QueueVisibilityTimeout"]["MinValue"]),
            int(parameters["ClaimLease"]["MinValue"]),
            int(parameters["TenantBatchSize"]["MaxValue"]),
        ),
    ]
    for visibility, lease, batch in edges:
        mappings = []
        for logical, resource in functions.items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] == "SQS":
                    queue = queues[event["Properties"]["Queue"]["Fn::GetAtt"][0]]["Properties"]
                    assert queue["VisibilityTimeout"] == {"Ref": "QueueVisibilityTimeout"}
                    mappings.append((visibility, timeouts[logical], event["Properties"]["BatchSize"]))
        mappings.append((visibility, timeouts["DispatchFunction"], batch))
        assert len(mappings) == 3  # the system queue, the pool's work queue, a dedicated tenant's
        broken = limits.rules(
            function_timeouts={
                "api": timeouts["APIHandler"],
                "dispatch": timeouts["DispatchFunction"],
                **{k: v for k, v in timeouts.items() if k not in ("APIHandler", "DispatchFunction")},
            },
            mappings=mappings,
            claim_lease=lease,
            budget=limits.DISPATCH_BUDGET,
        )
        assert broken == [], (visibility, lease, batch)
