"""The Mail Proxy stack around Chalice's API: the merge template for ``chalice package``.

``chalice package --merge-template`` generates the API (API Gateway resources for every
route, the API function with its handler and runtime) and deep-merges what this module
returns: the other functions (same package), queues, secrets, the optional database, roles,
log groups, alarms. ``finish`` then applies what a merge cannot express (a conditional
``/metrics`` route). Every number AWS compares comes from ``chalicelib.limits``.
Per tenant, the API creates the queue, dead-letter queue, event source mapping and alarms.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import limits
from chalicelib.adapters.database import migrations
from chalicelib.settings_catalog import SETTINGS, Setting, render

Json = dict[str, Any]
CODE = "./deployment.zip"
API = "APIHandler"  # Chalice's logical id for the API function
REST_API = "RestAPI"  # and for the API
NO_VALUE = {"Ref": "AWS::NoValue"}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def ref(name: str) -> Json:
    return {"Ref": name}


def arn(name: str) -> Json:
    return {"Fn::GetAtt": [name, "Arn"]}


def when(condition: str, yes: Any, no: Any = NO_VALUE) -> Json:
    return {"Fn::If": [condition, yes, no]}


def allow(actions: list[str], resources: Any, condition: Json | None = None) -> Json:
    statement: Json = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


TENANT_QUEUES = sub("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${QueuePrefix}-t-*")
TENANT_ALARMS = sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${QueuePrefix}-t-*")
# By name, not GetAtt: the dispatcher's environment names the API's URL (unsubscribe links),
# so the API may not depend on the dispatcher's resource.
DISPATCH_ARN = sub("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-dispatch")
# The stack's database secret: the URL it was given, or the credentials of the one it made
# (the rules refuse a stack with neither).
DATABASE_SECRET = when("CreateDatabase", ref("DatabaseCredentials"), when("UseGivenDatabase", ref("DatabaseUrlSecret")))


def _secrets(*names: str) -> Json:
    return allow(
        ["secretsmanager:GetSecretValue"], [DATABASE_SECRET if n == "Database" else ref(f"{n}Secret") for n in names]
    )


CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
# Work records go to the pool (the work queue) or to a dedicated tenant's own queue.
ENQUEUE = allow(["sqs:SendMessage"], [TENANT_QUEUES, arn("WorkQueue")])


@dataclass(frozen=True)
class Function:
    """One Lambda function of the stack (all from the same package)."""

    short: str  # name suffix: ${AWS::StackName}-<short>
    handler: str
    timeout: int
    memory: int
    description: str
    statements: list[Json]
    secrets: tuple[str, ...] = ("EncryptionKey", "Database")
    events: Json = field(default_factory=dict)
    environment: Json = field(default_factory=dict)
    reserved: str | None = None  # the parameter of its reserved concurrency (0: none)


# Provisioning a tenant: its queues, its event source mapping onto the dispatcher, its
# alarms. The API does it when a tenant is created (and undoes it when it is deleted); the
# API and the retry tick do it again for a tenant whose queue has gone.
PROVISION = [
    allow(["sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SendMessage"], TENANT_QUEUES),
    allow(["sqs:SendMessage"], arn("WorkQueue")),
    allow(["lambda:CreateEventSourceMapping"], "*", {"ArnLike": {"lambda:FunctionArn": DISPATCH_ARN}}),
    # ListEventSourceMappings has no resource-level permissions in IAM.
    allow(["lambda:ListEventSourceMappings"], "*"),
    allow(["cloudwatch:PutMetricAlarm"], TENANT_ALARMS),
]
PROVISION_ENV: Json = {
    "MAILPROXY_DISPATCH_FUNCTION_ARN": DISPATCH_ARN,
    "MAILPROXY_ALARM_TOPIC_ARN": ref("AlarmTopic"),
}


def functions() -> dict[str, Function]:
    """Every function, by logical id. The API's handler and routes come from Chalice."""
    schedule = {"Tick": {"Type": "Schedule", "Properties": {"Schedule": limits.SCHEDULE, "Enabled": True}}}
    return {
        API: Function(
            "api",
            "app.app",
            limits.API_TIMEOUT,
            limits.API_MEMORY,
            "HTTP API (Chalice app behind API Gateway)",
            [
                *PROVISION,
                # Removing a tenant: its queues, mapping and alarms.
                allow(["sqs:DeleteQueue"], TENANT_QUEUES),
                allow(
                    ["lambda:DeleteEventSourceMapping"],
                    sub("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:event-source-mapping:*"),
                    {"ArnLike": {"lambda:FunctionArn": DISPATCH_ARN}},
                ),
                allow(["cloudwatch:DeleteAlarms"], TENANT_ALARMS),
                allow(["sqs:SendMessage", "sqs:GetQueueAttributes"], arn("SystemQueue")),
            ],
            secrets=("AdminToken", "EncryptionKey", "Database"),
            environment=PROVISION_ENV,
            reserved="ApiReservedConcurrency",
        ),
        "DispatchFunction": Function(
            "dispatch",
            "functions.dispatch.handler",
            limits.DISPATCH_TIMEOUT,
            limits.DISPATCH_MEMORY,
            "Dispatch, delivery reports and bounce polls on request (SQS)",
            [
                allow(CONSUME, [TENANT_QUEUES, arn("SystemQueue"), arn("WorkQueue")]),
                ENQUEUE,  # a run that used its budget queues its own continuation
                # Large attachments into the stack's bucket with the deployment's credentials
                # (tenants may name their own bucket and credentials instead); presigned
                # links are signed with these credentials, so reading is needed too.
                allow(["s3:PutObject", "s3:GetObject"], sub("${LargeFilesBucket.Arn}/*")),
            ],
            events={
                "SystemQueue": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": arn("SystemQueue"),
                        "BatchSize": limits.BATCH_SIZE,
                        "MaximumBatchingWindowInSeconds": limits.BATCHING_WINDOW,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        "ScalingConfig": {"MaximumConcurrency": limits.SYSTEM_CONCURRENCY},
                    },
                },
                # The pool: every tenant without a dedicated queue, in one fair queue.
                "WorkQueue": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": arn("WorkQueue"),
                        "BatchSize": limits.BATCH_SIZE,
                        "MaximumBatchingWindowInSeconds": limits.BATCHING_WINDOW,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        "ScalingConfig": {"MaximumConcurrency": ref("WorkConcurrency")},
                    },
                },
            },
            reserved="DispatchReservedConcurrency",
            environment={
                "MAILPROXY_PUBLIC_URL": when(
                    "HasPublicUrl",
                    ref("PublicUrl"),
                    sub("https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"),
                )
            },
        ),
        "RetryFunction": Function(
            "retry",
            "functions.scheduler.retry_handler",
            limits.SCHEDULED_TIMEOUT,
            limits.SCHEDULED_MEMORY,
            "Re-enqueue tenants with due messages; provision a queue that has gone",
            PROVISION,
            events=schedule,
            environment=PROVISION_ENV,
        ),
        "ReportsFunction": Function(
            "reports",
            "functions.scheduler.reports_handler",
            limits.SCHEDULED_TIMEOUT,
            limits.SCHEDULED_MEMORY,
            "Queue due delivery reports",
            [ENQUEUE],
            events=schedule,
        ),
        "RetentionFunction": Function(
            "retention",
            "functions.scheduler.retention_handler",
            limits.RETENTION_TIMEOUT,
            limits.SCHEDULED_MEMORY,
            "Per-tenant clean-up",
            [],
            events=schedule,
        ),
        "BouncesFunction": Function(
            "bounces",
            "functions.scheduler.bounces_handler",
            limits.BOUNCES_TIMEOUT,
            limits.SCHEDULED_MEMORY,
            "IMAP bounce poll",
            [ENQUEUE],
            events=schedule,
        ),
        "MigrateFunction": Function(
            "migrate",
            "functions.migrate.handler",
            limits.MIGRATE_TIMEOUT,
            limits.SCHEDULED_MEMORY,
            "Apply database migrations (run by each deploy)",
            [],
            secrets=("Database",),
        ),
    }


def _environment(fn: Function) -> Json:
    variables: Json = {
        "MAILPROXY_DATABASE_SECRET_ARN": DATABASE_SECRET,
        "MAILPROXY_DATABASE_HOST": when("CreateDatabase", {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}),
        "MAILPROXY_DATABASE_NAME": "mailproxy",
        "MAILPROXY_SYSTEM_QUEUE_URL": ref("SystemQueue"),
        "MAILPROXY_WORK_QUEUE_URL": ref("WorkQueue"),
        "POWERTOOLS_SERVICE_NAME": f"mail-proxy-{fn.short}",
        # Every operator-tunable setting, from its parameter (settings_catalog.py), in every
        # function: the same value wherever the code reads it.
        **{s.env: ref(str(s.parameter)) for s in TUNABLE if s.env not in SPECIFIC_ENV},
    }
    if "AdminToken" in fn.secrets:
        variables["MAILPROXY_API_TOKEN_SECRET_ARN"] = ref("AdminTokenSecret")
    if "EncryptionKey" in fn.secrets:
        variables["MAILPROXY_ENCRYPTION_KEY_SECRET_ARN"] = ref("EncryptionKeySecret")
    variables.update(fn.environment)
    return {"Variables": variables}


def _security_groups() -> Json:
    own = {"Fn::GetAtt": ["FunctionSecurityGroup", "GroupId"]}
    both = {"Fn::Split": [",", {"Fn::Join": [",", [own, {"Fn::Join": [",", ref("SecurityGroupIds")]}]]}]}
    return when("HasVpcId", when("HasExtraSecurityGroups", both, [own]), ref("SecurityGroupIds"))


def _function_resources(logical: str, fn: Function) -> Json:
    role = f"{logical}Role"
    name = sub(f"${{AWS::StackName}}-{fn.short}")
    managed = when(
        "HasVpc",
        sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"),
        sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
    )
    statements = [_secrets(*fn.secrets), *fn.statements]
    properties: Json = {
        "FunctionName": name,
        "Description": fn.description,
        "Handler": fn.handler,
        "Runtime": "python3.11",
        "Architectures": ["x86_64"],
        "CodeUri": CODE,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory,
        "Role": arn(role),
        "Environment": _environment(fn),
        "VpcConfig": when("HasVpc", {"SubnetIds": ref("SubnetIds"), "SecurityGroupIds": _security_groups()}),
    }
    if fn.events:
        properties["Events"] = fn.events
    if fn.reserved:
        properties["ReservedConcurrentExecutions"] = when(f"Has{fn.reserved}", ref(fn.reserved))
    resources: Json = {
        role: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [managed],
                "Policies": [
                    {"PolicyName": "mail-proxy", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
                ],
            },
        },
        f"{logical}Logs": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub(f"/aws/lambda/${{AWS::StackName}}-{fn.short}"),
                "RetentionInDays": ref("LogRetentionDays"),
            },
        },
    }
    if logical != API:
        resources[logical] = {
            "Type": "AWS::Serverless::Function",
            "DependsOn": [f"{logical}Logs"],
            "Properties": properties,
        }
    else:
        # Merged into Chalice's own resource: its handler, code and runtime stay Chalice's.
        resources[logical] = {
            "DependsOn": [f"{logical}Logs"],
            "Properties": {k: v for k, v in properties.items() if k not in ("Handler", "CodeUri", "Runtime")},
        }
    return resources


def _queues() -> Json:
    work = {
        "QueueName": sub("${QueuePrefix}-work"),
        "VisibilityTimeout": ref("QueueVisibilityTimeout"),
        "MessageRetentionPeriod": limits.QUEUE_RETENTION,
        "RedrivePolicy": {
            "deadLetterTargetArn": arn("WorkDeadLetterQueue"),
            "maxReceiveCount": limits.MAX_RECEIVE_COUNT,
        },
    }
    return {
        "WorkDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub("${QueuePrefix}-work-dlq"),
                "MessageRetentionPeriod": limits.DEAD_LETTER_RETENTION,
            },
        },
        # The pool's queue: a standard queue used as an SQS fair queue (each work record's
        # MessageGroupId names its tenant), so one tenant's backlog does not delay the others.
        "WorkQueue": {"Type": "AWS::SQS::Queue", "Properties": work},
        "SystemDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub("${QueuePrefix}-system-dlq"),
                "MessageRetentionPeriod": limits.DEAD_LETTER_RETENTION,
            },
        },
        # The same attributes as the code's own fallback (queues.TenantQueues.system_url).
        "SystemQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub("${QueuePrefix}-system"),
                "VisibilityTimeout": ref("QueueVisibilityTimeout"),
                "MessageRetentionPeriod": limits.QUEUE_RETENTION,
                "RedrivePolicy": {
                    "deadLetterTargetArn": arn("SystemDeadLetterQueue"),
                    "maxReceiveCount": limits.MAX_RECEIVE_COUNT,
                },
            },
        },
    }


def _secret_resources() -> Json:
    return {
        "AdminTokenSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Description": "Mail Proxy admin token (MAILPROXY_API_TOKEN)",
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        },
        "EncryptionKeySecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Description": "Key for Mail Proxy secrets at rest (MAILPROXY_ENCRYPTION_KEY)",
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        },
        "DatabaseUrlSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Condition": "UseGivenDatabase",
            "Properties": {
                "Description": "Mail Proxy DATABASE_URL (given to the stack)",
                "SecretString": ref("DatabaseUrl"),
            },
        },
    }


def _resolve_secret(secret: Json, key: str) -> Json:
    """A dynamic reference to one key of a secret (Fn::Join rather than Fn::Sub: LocalStack
    resolves Fn::Sub even in resources whose condition is false)."""
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", secret, f":SecretString:{key}}}}}"]]}


def _database() -> Json:
    """Aurora PostgreSQL Serverless v2 behind RDS Proxy, when no DatabaseUrl is given."""
    only = {"Condition": "CreateDatabase"}
    db_sg = {"Fn::GetAtt": ["DatabaseSecurityGroup", "GroupId"]}
    creds = ref("DatabaseCredentials")
    return {
        "FunctionSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Condition": "HasVpcId",
            "Properties": {
                "GroupDescription": "Mail Proxy functions (egress: SMTP, HTTPS, PostgreSQL)",
                "VpcId": ref("VpcId"),
            },
        },
        "DatabaseCredentials": {
            "Type": "AWS::SecretsManager::Secret",
            **only,
            "Properties": {
                "Description": "Mail Proxy database credentials (RDS)",
                "GenerateSecretString": {
                    "SecretStringTemplate": json.dumps({"username": "mailproxy"}),
                    "GenerateStringKey": "password",
                    "PasswordLength": 40,
                    "ExcludeCharacters": "\"@/\\ '`:?#[]%{}",
                },
            },
        },
        "DatabaseSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            **only,
            "Properties": {
                "GroupDescription": "Mail Proxy database and RDS Proxy",
                "VpcId": ref("VpcId"),
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 5432,
                        "ToPort": 5432,
                        "SourceSecurityGroupId": {"Fn::GetAtt": ["FunctionSecurityGroup", "GroupId"]},
                        "Description": "functions to RDS Proxy",
                    }
                ],
            },
        },
        "DatabaseSelfIngress": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            **only,
            "Properties": {
                "GroupId": db_sg,
                "SourceSecurityGroupId": db_sg,
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "Description": "RDS Proxy to the cluster",
            },
        },
        "DatabaseSubnetGroup": {
            "Type": "AWS::RDS::DBSubnetGroup",
            **only,
            "Properties": {"DBSubnetGroupDescription": "Mail Proxy database", "SubnetIds": ref("SubnetIds")},
        },
        "DatabaseCluster": {
            "Type": "AWS::RDS::DBCluster",
            **only,
            "DeletionPolicy": "Snapshot",
            "UpdateReplacePolicy": "Snapshot",
            "Properties": {
                "Engine": "aurora-postgresql",
                "EngineVersion": "15.10",
                "DatabaseName": "mailproxy",
                "MasterUsername": _resolve_secret(creds, "username"),
                "MasterUserPassword": _resolve_secret(creds, "password"),
                "DBSubnetGroupName": ref("DatabaseSubnetGroup"),
                "VpcSecurityGroupIds": [db_sg],
                "StorageEncrypted": True,
                "BackupRetentionPeriod": 7,
                "DeletionProtection": True,
                "ServerlessV2ScalingConfiguration": {
                    "MinCapacity": ref("DatabaseMinCapacity"),
                    "MaxCapacity": ref("DatabaseMaxCapacity"),
                },
            },
        },
        "DatabaseInstance": {
            "Type": "AWS::RDS::DBInstance",
            **only,
            "Properties": {
                "Engine": "aurora-postgresql",
                "DBInstanceClass": "db.serverless",
                "DBClusterIdentifier": ref("DatabaseCluster"),
                "PubliclyAccessible": False,
            },
        },
        "DatabaseSecretAttachment": {
            "Type": "AWS::SecretsManager::SecretTargetAttachment",
            **only,
            "Properties": {"SecretId": creds, "TargetId": ref("DatabaseCluster"), "TargetType": "AWS::RDS::DBCluster"},
        },
        "DatabaseProxyRole": {
            "Type": "AWS::IAM::Role",
            **only,
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "read-credentials",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [allow(["secretsmanager:GetSecretValue"], creds)],
                        },
                    }
                ],
            },
        },
        "DatabaseProxy": {
            "Type": "AWS::RDS::DBProxy",
            **only,
            "Properties": {
                "DBProxyName": sub("${AWS::StackName}-db"),
                "EngineFamily": "POSTGRESQL",
                "RequireTLS": True,
                "RoleArn": arn("DatabaseProxyRole"),
                "VpcSubnetIds": ref("SubnetIds"),
                "VpcSecurityGroupIds": [db_sg],
                "Auth": [{"AuthScheme": "SECRETS", "SecretArn": creds, "IAMAuth": "DISABLED"}],
            },
        },
        "DatabaseProxyTargetGroup": {
            "Type": "AWS::RDS::DBProxyTargetGroup",
            **only,
            "Properties": {
                "DBProxyName": ref("DatabaseProxy"),
                "TargetGroupName": "default",
                "DBClusterIdentifiers": [ref("DatabaseCluster")],
                "ConnectionPoolConfigurationInfo": {
                    "MaxConnectionsPercent": limits.PROXY_MAX_CONNECTIONS_PERCENT,
                    "ConnectionBorrowTimeout": 30,
                },
            },
        },
    }


def migrations_digest() -> str:
    """Changes when a migration is added or edited, so that a deploy runs the migrator."""
    digest = hashlib.sha256()
    for name, sql in migrations():
        digest.update(name.encode() + b"\0" + sql.encode() + b"\0")
    return digest.hexdigest()[:16]


def _operations() -> Json:
    alarm = {
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [ref("AlarmTopic")],
        "OKActions": [ref("AlarmTopic")],
    }
    return {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "Mail Proxy alarms"}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": ref("AlarmTopic"), "Protocol": "email", "Endpoint": ref("AlarmEmail")},
        },
        "SystemDeadLetterAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                **alarm,
                "Statistic": "Maximum",
                "AlarmDescription": "Mail Proxy system work is failing repeatedly",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["SystemDeadLetterQueue", "QueueName"]}}],
            },
        },
        "DispatchErrorsAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                **alarm,
                "AlarmDescription": "The dispatch function is failing",
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": ref("DispatchFunction")}],
            },
        },
        "ApiErrorsAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                **alarm,
                "AlarmDescription": "The API function is failing",
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": ref(API)}],
            },
        },
        "LargeFilesBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {"Id": "expire-large-files", "Status": "Enabled", "ExpirationInDays": ref("LargeFileTtlDays")}
                    ]
                },
            },
        },
        "DatabaseMigration": {
            "Type": "Custom::DatabaseMigration",
            "Properties": {
                "ServiceToken": arn("MigrateFunction"),
                "Migrations": migrations_digest(),
                # Only once the proxy can reach the cluster (a dependency only when it exists).
                "Database": when("CreateDatabase", ref("DatabaseProxyTargetGroup"), "given"),
            },
        },
    }


TUNABLE: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.parameter)
# Settings whose variable only some functions get, from an expression of their own.
SPECIFIC_ENV = frozenset({"MAILPROXY_PUBLIC_URL"})
# Where the template is stricter than the code: AWS's rules between the numbers (limits.rules).
TEMPLATE_MINIMUM: dict[str, float] = {
    "ClaimLease": limits.DISPATCH_TIMEOUT + 1,  # a lease outlives any run
    "QueueVisibilityTimeout": limits.QUEUE_VISIBILITY_TIMEOUT,  # 6 x the dispatch timeout
}


def setting_parameter(setting: Setting) -> Json:
    """A tunable setting as a template parameter: its default and range are the code's."""
    assert setting.parameter is not None
    # The default as the variable holds it (the same text /status and make dev show).
    spec: Json = {"Description": f"{setting.env}: {setting.doc}", "Default": render(setting, setting.default)}
    if setting.kind in ("int", "float"):
        spec["Type"] = "Number"
        low = TEMPLATE_MINIMUM.get(setting.parameter, setting.minimum)
        if low is not None:
            spec["MinValue"] = low
        if setting.maximum is not None:
            spec["MaxValue"] = setting.maximum
        return spec
    spec["Type"] = "String"
    if setting.kind == "bool":
        spec["AllowedValues"] = ["true", "false"]
    elif setting.kind == "delays":
        spec["AllowedPattern"] = "^[0-9]+( *, *[0-9]+)*$"
    elif setting.kind == "prefix":
        spec["AllowedPattern"] = "^[A-Za-z0-9_-]{1,30}$"
    elif setting.kind == "url" and setting.env == "MAILPROXY_PUBLIC_URL":
        spec["Description"] += "; empty: the API Gateway URL of this stack"
    return spec


PARAMETERS: Json = {
    "DatabaseUrl": {
        "Type": "String",
        "NoEcho": True,
        "Default": "",
        "Description": "postgresql:// URL of an existing database; empty: the stack creates "
        "Aurora PostgreSQL Serverless v2 behind RDS Proxy (needs VpcId and SubnetIds)",
    },
    "VpcId": {"Type": "String", "Default": "", "Description": "VPC of the functions (and of the created database)"},
    "SubnetIds": {
        "Type": "CommaDelimitedList",
        "Default": "",
        "Description": "Private subnets for the functions and the database (with NAT or VPC endpoints)",
    },
    "SecurityGroupIds": {
        "Type": "CommaDelimitedList",
        "Default": "",
        "Description": "Extra security groups for the functions",
    },
    "DatabaseMinCapacity": {"Type": "Number", "Default": limits.DATABASE_MIN_ACU, "MinValue": 0, "MaxValue": 256},
    "DatabaseMaxCapacity": {"Type": "Number", "Default": limits.DATABASE_MAX_ACU, "MinValue": 1, "MaxValue": 256},
    "LargeFileTtlDays": {"Type": "Number", "Default": 30, "MinValue": 1},
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": [
            1,
            3,
            5,
            7,
            14,
            30,
            60,
            90,
            120,
            150,
            180,
            365,
            400,
            545,
            731,
            1096,
            1827,
            2192,
            2557,
            2922,
            3288,
            3653,
        ],
    },
    "AlarmEmail": {"Type": "String", "Default": "", "Description": "Subscribed to the alarm topic (empty: none)"},
    "DeployDigest": {
        "Type": "String",
        "Default": "none",
        "Description": "Set by make deploy: what the last deploy asked for (template and parameters)",
    },
    "WorkConcurrency": {
        "Type": "Number",
        "Default": limits.WORK_CONCURRENCY,
        "MinValue": 2,
        "MaxValue": 1000,
        "Description": "MaximumConcurrency of the work queue's mapping: dispatch invocations "
        "serving the pooled tenants at once",
    },
    "DispatchReservedConcurrency": {
        "Type": "Number",
        "Default": limits.DISPATCH_RESERVED,
        "MinValue": 0,
        "MaxValue": 10000,
        "Description": "Reserved concurrency of the dispatch "
        "function (0: none); at least WorkConcurrency plus 2 per dedicated tenant",
    },
    "ApiReservedConcurrency": {
        "Type": "Number",
        "Default": limits.API_RESERVED,
        "MinValue": 0,
        "MaxValue": 10000,
        "Description": "Reserved concurrency of the API function (0: none), so that "
        "a dispatch surge never throttles the API",
    },
    "MetricsAccess": {
        "Type": "String",
        "Default": "iam",
        "AllowedValues": ["iam", "public", "none"],
        "Description": "GET /metrics through API Gateway: IAM-signed requests only, anyone, or not routed",
    },
    **{s.parameter: setting_parameter(s) for s in TUNABLE if s.parameter},
}

CONDITIONS: Json = {
    "NoDatabaseUrl": {"Fn::Equals": [ref("DatabaseUrl"), ""]},
    "HasVpcId": {"Fn::Not": [{"Fn::Equals": [ref("VpcId"), ""]}]},
    "HasPublicUrl": {"Fn::Not": [{"Fn::Equals": [ref("PublicUrl"), ""]}]},
    "CreateDatabase": {"Fn::And": [{"Condition": "NoDatabaseUrl"}, {"Condition": "HasVpcId"}]},
    "UseGivenDatabase": {"Fn::Not": [{"Condition": "NoDatabaseUrl"}]},
    "HasVpc": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", ref("SubnetIds")]}, ""]}]},
    "HasExtraSecurityGroups": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", ref("SecurityGroupIds")]}, ""]}]},
    "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]},
    "MetricsRouted": {"Fn::Not": [{"Fn::Equals": [ref("MetricsAccess"), "none"]}]},
    "HasDispatchReservedConcurrency": {"Fn::Not": [{"Fn::Equals": [ref("DispatchReservedConcurrency"), "0"]}]},
    "HasApiReservedConcurrency": {"Fn::Not": [{"Fn::Equals": [ref("ApiReservedConcurrency"), "0"]}]},
    "MetricsIam": {"Fn::Equals": [ref("MetricsAccess"), "iam"]},
}

RULES: Json = {
    "DatabaseNeedsAVpc": {
        "RuleCondition": {"Fn::Equals": [ref("DatabaseUrl"), ""]},
        "Assertions": [
            {
                "Assert": {"Fn::Not": [{"Fn::Equals": [ref("VpcId"), ""]}]},
                "AssertDescription": "Without DatabaseUrl the stack creates a database: give VpcId",
            },
            {
                "Assert": {"Fn::Not": [{"Fn::EachMemberEquals": [ref("SubnetIds"), ""]}]},
                "AssertDescription": "Without DatabaseUrl the stack creates a database: give SubnetIds",
            },
        ],
    },
}


def merge_template() -> Json:
    """What ``chalice package --merge-template`` merges into Chalice's own template."""
    resources: Json = {}
    for logical, fn in functions().items():
        resources.update(_function_resources(logical, fn))
    resources.update(_queues())
    resources.update(_secret_resources())
    resources.update(_database())
    resources.update(_operations())
    sigv4 = {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
    resources[REST_API] = {
        "Properties": {
            "Name": sub("${AWS::StackName}-api"),
            "DefinitionBody": {"securityDefinitions": {"sigv4": sigv4}},
        }
    }
    return {
        "Description": "Mail Proxy: multi-tenant email dispatch (API, queues, functions, schedules, database)",
        "Parameters": PARAMETERS,
        "Conditions": CONDITIONS,
        "Rules": RULES,
        "Resources": resources,
        "Outputs": {
            "ApiUrl": {"Value": sub("https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api")},
            "AdminTokenSecretArn": {"Value": ref("AdminTokenSecret")},
            "LargeFilesBucketName": {"Value": ref("LargeFilesBucket")},
            "DispatchFunctionArn": {"Value": DISPATCH_ARN},
            "MigrateFunctionName": {"Value": ref("MigrateFunction")},
            "AlarmTopicArn": {"Value": ref("AlarmTopic")},
            "DeployDigest": {"Value": ref("DeployDigest")},
            "DatabaseEndpoint": {"Condition": "CreateDatabase", "Value": {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}},
        },
    }


def finish(template: Json) -> Json:
    """What a deep merge cannot say: ``/metrics`` routed only if the operator wants it, and
    then IAM-signed unless public. API v1 keeps /metrics open in the API itself (docs/api.md §2)."""
    paths = template["Resources"][REST_API]["Properties"]["DefinitionBody"]["paths"]
    item = paths["/metrics"]
    for method in item.values():
        method["security"] = when("MetricsIam", [{"sigv4": []}])
    paths["/metrics"] = when("MetricsRouted", item)
    return template


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "build" / "merge.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merge_template(), indent=2) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
