"""The local deployment: the built template, deployed onto the local endpoint and hosts.

What CloudFormation would create and an AWS-compatible endpoint can hold (the template's
queues, secrets, bucket, topic) is created there, with the template's properties. What no
emulator can run here (Lambda functions, event source mappings, schedules, API Gateway) is
described for the local hosts (devstack.functions, devstack.gateway, devstack.runner),
which read it from ``deployment.json``. The database migration runs as the template's
custom resource runs it: by invoking the migration function.

Local parameter values: ``DatabaseUrl`` = the local database, ``QueuePrefix`` = the stack's,
``MetricsAccess`` = ``public`` (API v1's own /metrics); the rest are the defaults.
Known differences from AWS (docs/operations.md, "The local stack"): the API is served at
the root rather than under ``/api``, IAM-signed routes accept any SigV4-shaped header, and
tenant queues are found by name rather than through event source mappings, with the batch
size and concurrency the API gives those mappings.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

from devstack.aws import aws_env
from devstack.cfn import Context, Template
from devstack.functions import FunctionHost, FunctionSpec, unpack
from devstack.procs import ROOT

PACKAGE = ROOT / "infra" / "build" / "deployment.zip"
STAGE = "api"


@dataclass
class QueueMapping:
    function: str  # logical id of the function the queue feeds
    batch_size: int
    window: int
    max_concurrency: int
    queue_url: str | None = None  # one queue, or every queue whose name has this prefix
    name_prefix: str | None = None


@dataclass
class Deployment:
    task_root: str
    log_dir: str
    functions: dict[str, dict[str, Any]]
    api_function: str
    api_paths: dict[str, Any]
    binary_media_types: list[str]
    schedules: dict[str, str]
    mappings: list[dict[str, Any]]
    extra_env: dict[str, str]
    call_log: str
    schedule_tick: float
    outputs: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> Deployment:
        return cls(**json.loads(path.read_text()))

    def spec(self, logical: str) -> FunctionSpec:
        return FunctionSpec(**self.functions[logical])

    def host(self, logical: str, max_environments: int = 4) -> FunctionHost:
        return FunctionHost(
            self.spec(logical),
            Path(self.task_root),
            Path(self.log_dir),
            max_environments=max_environments,
            extra_env=self.extra_env,
            call_log=Path(self.call_log),
        )

    def queue_mappings(self) -> list[QueueMapping]:
        return [QueueMapping(**m) for m in self.mappings]


def _clients(endpoint: str, region: str) -> dict[str, Any]:
    # The local endpoint's credentials (test/test unless set), as the functions get them.
    env = aws_env(endpoint)
    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return {name: session.client(name, endpoint_url=endpoint) for name in ("sqs", "secretsmanager", "s3", "sns", "sts")}


def _attributes(properties: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in properties.items():
        if key == "QueueName":
            continue
        out[key] = json.dumps(value) if isinstance(value, dict) else str(value)
    return out


class Deployer:
    """Deploys the built template onto a local endpoint; see the module docstring."""

    def __init__(
        self,
        *,
        endpoint: str,
        region: str,
        parameters: dict[str, Any],
        secret_values: dict[str, str],
        log_dir: Path,
        extra_env: dict[str, str],
        schedule_tick: float,
        stack_name: str,
    ) -> None:
        self.endpoint = endpoint
        self.region = region
        self.clients = _clients(endpoint, region)
        account = str(self.clients["sts"].get_caller_identity()["Account"])
        self.ctx = Context(dict(parameters), region=region, account=account, stack=stack_name)
        self.template = Template.load(self.ctx)
        self.secret_values = dict(secret_values)
        self.log_dir = log_dir
        self.extra_env = extra_env
        self.schedule_tick = schedule_tick

    # ------------------------------------------------------------ resources
    def _queues(self) -> None:
        queues = self.template.of_type("AWS::SQS::Queue")
        pending = dict(queues)
        while pending:  # dead-letter queues first: the others name their ARNs
            progressed = False
            for logical, resource in list(pending.items()):
                try:
                    properties = self.template.resolve(resource["Properties"])
                except Exception:  # noqa: BLE001 - names a queue not made yet
                    continue
                sqs = self.clients["sqs"]
                url = sqs.create_queue(QueueName=properties["QueueName"], Attributes=_attributes(properties))[
                    "QueueUrl"
                ]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                self.ctx.refs[logical] = url
                self.ctx.attributes[f"{logical}.Arn"] = arn
                self.ctx.attributes[f"{logical}.QueueName"] = properties["QueueName"]
                del pending[logical]
                progressed = True
            if not progressed:
                raise RuntimeError(f"cannot create queues {sorted(pending)}")

    def _secrets(self) -> None:
        client = self.clients["secretsmanager"]
        for logical, resource in self.template.of_type("AWS::SecretsManager::Secret").items():
            properties = resource["Properties"]
            value = self.secret_values.get(logical)
            if value is None:
                value = (
                    str(self.template.resolve(properties["SecretString"]))
                    if "SecretString" in properties
                    else secrets.token_urlsafe(32)
                )
            name = f"{self.ctx.stack}/{logical}"
            try:
                client.create_secret(Name=name, SecretString=value)
            except client.exceptions.ResourceExistsException:
                client.put_secret_value(SecretId=name, SecretString=value)
            self.secret_values[logical] = value
            # Ref stands for the name (AWS gives the ARN): an emulator gives a re-created
            # secret a new ARN suffix, and the local stack re-creates the template's
            # resources when its endpoint restarts empty (Stack.restart_aws).
            self.ctx.refs[logical] = name

    def _others(self) -> None:
        digest = hashlib.sha256(self.ctx.stack.encode()).hexdigest()[:8]
        for logical in self.template.of_type("AWS::S3::Bucket"):
            bucket = f"{self.ctx.stack.lower()}-{logical.lower()}-{digest}"[:63]
            self.clients["s3"].create_bucket(Bucket=bucket)
            self.ctx.refs[logical] = bucket
            self.ctx.attributes[f"{logical}.Arn"] = f"arn:aws:s3:::{bucket}"
        for logical in self.template.of_type("AWS::SNS::Topic"):
            self.ctx.refs[logical] = self.clients["sns"].create_topic(Name=f"{self.ctx.stack}-{logical}")["TopicArn"]
        for logical in self.template.functions():
            self.ctx.refs[logical] = self.template.function_name(logical)
        for logical in self.template.of_type("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            self.ctx.refs[logical] = "local"

    # ------------------------------------------------------------ functions
    def _function(self, logical: str, resource: dict[str, Any]) -> dict[str, Any]:
        properties = resource["Properties"]
        variables = self.template.resolve(properties.get("Environment", {})).get("Variables", {})
        variables = {k: str(v) for k, v in variables.items()}
        # Locally the runner stands in for the event source mappings the API would create.
        variables.pop("MAILPROXY_DISPATCH_FUNCTION_ARN", None)
        spec = FunctionSpec(
            logical=logical,
            name=self.template.function_name(logical),
            handler=str(properties["Handler"]),
            timeout=float(properties.get("Timeout", 3)),
            memory=int(properties.get("MemorySize", 128)),
            environment=variables,
            policy=self.template.role_policy(logical),
            region=self.region,
            account=self.ctx.account,
        )
        return asdict(spec)

    def _events(self) -> tuple[dict[str, str], list[dict[str, Any]]]:
        schedules: dict[str, str] = {}
        mappings: list[dict[str, Any]] = []
        for logical, resource in self.template.functions().items():
            for event in resource["Properties"].get("Events", {}).values():
                props = self.template.resolve(event.get("Properties", {}))
                if event["Type"] == "Schedule" and props.get("Enabled", True):
                    schedules[logical] = str(props["Schedule"])
                elif event["Type"] == "SQS":
                    arn = props["Queue"]
                    url = next(u for k, u in self.ctx.refs.items() if self.ctx.attributes.get(f"{k}.Arn") == arn)
                    mappings.append(
                        asdict(
                            QueueMapping(
                                function=logical,
                                queue_url=url,
                                batch_size=int(props.get("BatchSize", 10)),
                                window=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                                max_concurrency=int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 2)),
                            )
                        )
                    )
        return schedules, mappings

    def _tenant_mapping(self, functions: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """What the API gives each tenant's mapping (its environment names the values)."""
        api_env = functions[self.template.api_function()]["environment"]
        target = self.template.resources[self.template.api_function()]["Properties"]["Environment"]["Variables"]
        # The ARN the API maps tenants' queues onto, resolved, names one of the template's functions.
        wanted = self.template.resolve(target["MAILPROXY_DISPATCH_FUNCTION_ARN"])
        dispatch = next(
            logical
            for logical in self.template.functions()
            if self.template.function_arn(self.template.function_name(logical)) == wanted
        )
        return asdict(
            QueueMapping(
                function=dispatch,
                name_prefix=f"{api_env['MAILPROXY_QUEUE_PREFIX']}-t-",
                batch_size=int(api_env["MAILPROXY_TENANT_BATCH_SIZE"]),
                window=int(api_env["MAILPROXY_TENANT_BATCHING_WINDOW"]),
                max_concurrency=int(api_env["MAILPROXY_TENANT_CONCURRENCY"]),
            )
        )

    def provision(self) -> None:
        """What CloudFormation would hold in the endpoint: queues, secrets, bucket, topic.
        Idempotent: run again on an endpoint that restarted empty, it restores them."""
        self._queues()
        self._secrets()
        self._others()

    def deploy(self) -> Deployment:
        self.provision()
        functions = {k: self._function(k, r) for k, r in self.template.functions().items()}
        schedules, mappings = self._events()
        mappings.append(self._tenant_mapping(functions))
        task_root = unpack(PACKAGE, self.log_dir / "task")
        outputs = {}
        for key, output in self.template.body.get("Outputs", {}).items():
            if output.get("Condition") and not self.template.condition(output["Condition"]):
                continue
            try:
                outputs[key] = self.template.resolve(output["Value"])
            except Exception:  # noqa: BLE001 - an output naming what has no local stand-in
                continue
        deployment = Deployment(
            task_root=str(task_root),
            log_dir=str(self.log_dir),
            functions=functions,
            api_function=self.template.api_function(),
            api_paths=self.template.api_paths(),
            binary_media_types=self.template.binary_media_types(),
            schedules=schedules,
            mappings=mappings,
            extra_env=self.extra_env,
            call_log=str(self.log_dir / "aws-calls.jsonl"),
            schedule_tick=self.schedule_tick,
            outputs=outputs,
        )
        self._migrate(deployment)
        return deployment

    def _migrate(self, deployment: Deployment) -> None:
        """As the DatabaseMigration custom resource does on a deploy."""
        for logical, resource in self.template.of_type("Custom::DatabaseMigration").items():
            token = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
            host = deployment.host(token, max_environments=1)
            try:
                host.invoke({"local": True, "resource": logical})
            finally:
                host.stop()
