"""The Mail Proxy stack as CloudFormation (architecture section 3), built offline.

Shared pieces live here; what is per tenant (its queue, dead-letter queue, event source
mapping and alarm) is created by the API when the tenant is created, under the queue
prefix this stack grants it. Run ``python -m infra.template`` to write the template.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Json = dict[str, Any]

FUNCTIONS = {
    # logical id: (handler, timeout s, memory MB, description)
    "ApiFunction": ("app.app", 29, 512, "HTTP API (Chalice app behind API Gateway)"),
    "DispatchFunction": ("functions.dispatch.handler", 300, 512,
                         "Dispatch, delivery reports and bounce polls on request (SQS)"),
    "RetryFunction": ("functions.scheduler.retry_handler", 60, 256, "Re-enqueue tenants with due messages"),
    "ReportsFunction": ("functions.scheduler.reports_handler", 60, 256, "Queue due delivery reports"),
    "RetentionFunction": ("functions.scheduler.retention_handler", 120, 256, "Per-tenant clean-up"),
    "BouncesFunction": ("functions.scheduler.bounces_handler", 120, 256, "IMAP bounce poll"),
}
SCHEDULED = ("RetryFunction", "ReportsFunction", "RetentionFunction", "BouncesFunction")


def _sub(text: str) -> Json:
    return {"Fn::Sub": text}


def _ref(name: str) -> Json:
    return {"Ref": name}


def _arn(name: str) -> Json:
    return {"Fn::GetAtt": [name, "Arn"]}


QUEUE_ARNS = _sub("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${QueuePrefix}-*")


def _policy(statements: list[Json]) -> Json:
    return {"PolicyName": "mail-proxy", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}


def _allow(actions: list[str], resources: Any) -> Json:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _secrets_read() -> Json:
    return _allow(["secretsmanager:GetSecretValue"],
                  [_ref("AdminTokenSecret"), _ref("EncryptionKeySecret"), _ref("DatabaseSecret")])


def _role_statements(name: str) -> list[Json]:
    """Least privilege per function."""
    statements = [_secrets_read()]
    if name == "ApiFunction":
        statements += [
            # Tenant lifecycle: its queues (under the prefix), its event source mapping.
            _allow(["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes",
                    "sqs:SetQueueAttributes", "sqs:SendMessage", "sqs:ListQueues", "sqs:TagQueue"], QUEUE_ARNS),
            _allow(["lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping",
                    "lambda:ListEventSourceMappings"], "*"),
            _allow(["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
                   _sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${QueuePrefix}-*")),
        ]
    elif name == "DispatchFunction":
        statements += [
            _allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage",
                    "sqs:GetQueueUrl", "sqs:ChangeMessageVisibility", "sqs:CreateQueue"], QUEUE_ARNS),
            _allow(["s3:PutObject", "s3:GetObject"], _sub("${LargeFilesBucket.Arn}/*")),
        ]
    elif name in ("RetryFunction", "ReportsFunction", "BouncesFunction"):
        statements.append(_allow(["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:CreateQueue"], QUEUE_ARNS))
    return statements


def _environment() -> Json:
    return {"Variables": {
        "MAILPROXY_API_TOKEN_SECRET_ARN": _ref("AdminTokenSecret"),
        "MAILPROXY_ENCRYPTION_KEY_SECRET_ARN": _ref("EncryptionKeySecret"),
        "MAILPROXY_DATABASE_SECRET_ARN": _ref("DatabaseSecret"),
        "MAILPROXY_QUEUE_PREFIX": _ref("QueuePrefix"),
        "MAILPROXY_TENANT_CONCURRENCY": _ref("TenantConcurrency"),
        "MAILPROXY_DISPATCH_FUNCTION_ARN": _sub(
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-dispatch"),
        "MAILPROXY_LARGE_FILES_BUCKET": _ref("LargeFilesBucket"),
        "MAILPROXY_SCHEDULE_TICK": "60",
    }}


def _function_name(logical: str) -> Json:
    short = logical.removesuffix("Function").lower()
    return _sub(f"${{AWS::StackName}}-{short}")


def build() -> Json:
    resources: Json = {}
    for logical, (handler, timeout, memory, description) in FUNCTIONS.items():
        role = f"{logical}Role"
        resources[role] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "ManagedPolicyArns": [
                    _sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")],
                "Policies": [_policy(_role_statements(logical))],
            },
        }
        resources[logical] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": _function_name(logical),
                "Description": description,
                "Runtime": "python3.11",
                "Handler": handler,
                "Code": {"S3Bucket": _ref("CodeBucket"), "S3Key": _ref("CodeKey")},
                "Role": _arn(role),
                "Timeout": timeout,
                "MemorySize": memory,
                "Environment": _environment(),
            },
        }
    for logical in SCHEDULED:
        rule = f"{logical.removesuffix('Function')}Schedule"
        resources[rule] = {
            "Type": "AWS::Events::Rule",
            "Properties": {"ScheduleExpression": "rate(1 minute)", "State": "ENABLED",
                           "Targets": [{"Arn": _arn(logical), "Id": logical}]},
        }
        resources[f"{rule}Permission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": _ref(logical),
                           "Principal": "events.amazonaws.com", "SourceArn": _arn(rule)},
        }

    # Instance-wide work (bounce polls on request) has a queue of its own.
    resources["SystemDeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": _sub("${QueuePrefix}-system-dlq"), "MessageRetentionPeriod": 1209600}}
    resources["SystemQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": _sub("${QueuePrefix}-system"), "VisibilityTimeout": 360,
                       "RedrivePolicy": {"deadLetterTargetArn": _arn("SystemDeadLetterQueue"),
                                         "maxReceiveCount": 5}}}
    resources["SystemQueueMapping"] = {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {"EventSourceArn": _arn("SystemQueue"), "FunctionName": _ref("DispatchFunction"),
                       "BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]}}
    resources["SystemDeadLetterAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": "Mail Proxy system work is failing repeatedly",
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["SystemDeadLetterQueue", "QueueName"]}}],
            "Statistic": "Maximum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}}
    resources["DispatchErrorsAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": "The dispatch function is failing",
            "Namespace": "AWS/Lambda", "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": _ref("DispatchFunction")}],
            "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}}

    resources["LargeFilesBucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "LifecycleConfiguration": {"Rules": [
                {"Id": "expire-large-files", "Status": "Enabled", "ExpirationInDays": _ref("LargeFileTtlDays")}]},
        }}

    resources["AdminTokenSecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {"Description": "Mail Proxy admin token (MAILPROXY_API_TOKEN)",
                       "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True}}}
    resources["EncryptionKeySecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {"Description": "Key for Mail Proxy secrets at rest (MAILPROXY_ENCRYPTION_KEY)",
                       "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True}}}
    resources["DatabaseSecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {"Description": "Mail Proxy DATABASE_URL (through RDS Proxy in production)",
                       "SecretString": _ref("DatabaseUrl")}}

    # API Gateway: every path and method to the Chalice app, which answers 404/405 itself.
    resources["RestApi"] = {"Type": "AWS::ApiGateway::RestApi",
                            "Properties": {"Name": _sub("${AWS::StackName}-api"),
                                           "EndpointConfiguration": {"Types": ["REGIONAL"]}}}
    resources["ProxyResource"] = {
        "Type": "AWS::ApiGateway::Resource",
        "Properties": {"RestApiId": _ref("RestApi"), "ParentId": {"Fn::GetAtt": ["RestApi", "RootResourceId"]},
                       "PathPart": "{proxy+}"}}
    integration = {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
                   "Uri": _sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                               "functions/${ApiFunction.Arn}/invocations")}
    resources["RootMethod"] = {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {"RestApiId": _ref("RestApi"), "ResourceId": {"Fn::GetAtt": ["RestApi", "RootResourceId"]},
                       "HttpMethod": "ANY", "AuthorizationType": "NONE", "Integration": integration}}
    resources["ProxyMethod"] = {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {"RestApiId": _ref("RestApi"), "ResourceId": _ref("ProxyResource"), "HttpMethod": "ANY",
                       "AuthorizationType": "NONE", "Integration": integration}}
    resources["ApiDeployment"] = {
        "Type": "AWS::ApiGateway::Deployment", "DependsOn": ["RootMethod", "ProxyMethod"],
        "Properties": {"RestApiId": _ref("RestApi"), "StageName": _ref("Stage")}}
    resources["ApiPermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": _ref("ApiFunction"),
                       "Principal": "apigateway.amazonaws.com",
                       "SourceArn": _sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                         "${RestApi}/*")}}

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Mail Proxy: multi-tenant email dispatch (API, queues, functions, schedules)",
        "Parameters": {
            "Stage": {"Type": "String", "Default": "api", "AllowedPattern": "^[A-Za-z0-9_]+$"},
            "CodeBucket": {"Type": "String", "Description": "Bucket holding the function package"},
            "CodeKey": {"Type": "String", "Description": "Key of the function package (zip)"},
            "DatabaseUrl": {"Type": "String", "NoEcho": True,
                            "Description": "postgresql:// URL of the database, through RDS Proxy"},
            "QueuePrefix": {"Type": "String", "Default": "mailproxy", "AllowedPattern": "^[A-Za-z0-9_-]{1,30}$"},
            "TenantConcurrency": {"Type": "Number", "Default": 2, "MinValue": 2, "MaxValue": 1000,
                                  "Description": "MaximumConcurrency of each tenant's event source mapping"},
            "LargeFileTtlDays": {"Type": "Number", "Default": 30, "MinValue": 1},
        },
        "Resources": resources,
        "Outputs": {
            "ApiUrl": {"Value": _sub("https://${RestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}")},
            "AdminTokenSecretArn": {"Value": _ref("AdminTokenSecret")},
            "LargeFilesBucketName": {"Value": _ref("LargeFilesBucket")},
            "DispatchFunctionArn": {"Value": _arn("DispatchFunction")},
        },
    }


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "build" / "template.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build(), indent=2) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
