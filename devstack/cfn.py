"""Reading the built template (infra/build/template.json) for the local stack.

The local stand-ins take from it what AWS takes from it: each function's handler, timeout,
memory, environment and role, the events that invoke it, the API Gateway routes, the queues.
Intrinsic functions are resolved against local values (parameters, the endpoint's account
and region, the physical ids of what the local deployment created).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from devstack.procs import ROOT

TEMPLATE = ROOT / "infra" / "build" / "template.json"
NO_VALUE = object()


class TemplateError(Exception):
    pass


def _each(value: Any, resolve: Callable[[Any], Any]) -> Any:
    """A dict's values or a list's items resolved, AWS::NoValue ones dropped; else as is."""
    if isinstance(value, dict):
        return {k: r for k, r in ((k, resolve(v)) for k, v in value.items()) if r is not NO_VALUE}
    if isinstance(value, list):
        return [r for r in (resolve(v) for v in value) if r is not NO_VALUE]
    return value


def check_parameter(name: str, spec: dict[str, Any], value: Any) -> None:
    """CloudFormation's checks of a given parameter value against its declaration."""
    text = str(value)
    if spec.get("Type") == "Number":
        try:
            number = float(text)
        except ValueError:
            raise TemplateError(f"Parameter '{name}' must be a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"Parameter '{name}' must be a number not less than {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}")
    if "AllowedValues" in spec and text not in [str(v) for v in spec["AllowedValues"]]:
        raise TemplateError(f"Parameter '{name}' must be one of AllowedValues")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"].lstrip("^").rstrip("$"), text):
        raise TemplateError(f"Parameter '{name}' must match pattern {spec['AllowedPattern']}")


@dataclass
class Context:
    """What Ref and Fn::GetAtt resolve to locally."""

    parameters: dict[str, Any]
    region: str = "us-east-1"
    account: str = "000000000000"
    stack: str = "mail-proxy-local"
    refs: dict[str, Any] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[str, Any] = field(default_factory=dict)  # "Logical.Attr" -> value


class Template:
    def __init__(self, body: dict[str, Any], context: Context) -> None:
        self.body = body
        self.ctx = context
        self.resources: dict[str, Any] = body["Resources"]
        declared = body.get("Parameters", {})
        defaults = {k: v.get("Default") for k, v in declared.items()}
        for name, value in context.parameters.items():
            if name not in declared:
                raise TemplateError(f"Parameters: [{name}] do not exist in the template")
            check_parameter(name, declared[name], value)
        for name, value in {**defaults, **context.parameters}.items():
            spec = declared.get(name, {})
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",")
            context.parameters[name] = value
        self._conditions: dict[str, bool] = {}

    @classmethod
    def load(cls, context: Context, path: Path = TEMPLATE) -> Template:
        if not path.is_file():
            raise TemplateError(f"{path} missing: run 'make package'")
        return cls(json.loads(path.read_text()), context)

    # ------------------------------------------------------------ conditions
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.body.get("Conditions", {})[name]))
        return self._conditions[name]

    def exists(self, logical: str) -> bool:
        cond = self.resources[logical].get("Condition")
        return cond is None or self.condition(cond)

    # ------------------------------------------------------------ intrinsics
    def _pseudo(self, name: str) -> Any:
        c = self.ctx
        return {
            "AWS::Region": c.region,
            "AWS::AccountId": c.account,
            "AWS::StackName": c.stack,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
            "AWS::StackId": f"arn:aws:cloudformation:{c.region}:{c.account}:stack/{c.stack}/local",
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self._pseudo(name)
        if name in self.ctx.parameters:
            return self.ctx.parameters[name]
        if name in self.ctx.refs:
            return self.ctx.refs[name]
        raise TemplateError(f"Ref {name}: nothing local stands for it")

    def getatt(self, logical: str, attribute: str) -> Any:
        key = f"{logical}.{attribute}"
        if key in self.ctx.attributes:
            return self.ctx.attributes[key]
        resource = self.resources.get(logical, {})
        if attribute == "Arn" and resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return self.function_arn(self.function_name(logical))
        raise TemplateError(f"GetAtt {key}: nothing local stands for it")

    def function_name(self, logical: str) -> str:
        name = self.resources[logical]["Properties"].get("FunctionName")
        return str(self.resolve(name)) if name is not None else f"{self.ctx.stack}-{logical}"

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.ctx.region}:{self.ctx.account}:function:{name}"

    def _sub(self, args: Any) -> str:
        text, names = (args, {}) if isinstance(args, str) else (args[0], self.resolve(args[1]))

        def one(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in names:
                return str(names[token])
            if "." in token:
                logical, attribute = token.split(".", 1)
                return str(self.getatt(logical, attribute))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, args),) = value.items()
            intrinsic = self._INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, args)
        return _each(value, self.resolve)

    def _getatt(self, args: Any) -> Any:
        logical, attribute = args if isinstance(args, list) else args.split(".", 1)
        return self.getatt(logical, attribute)

    def _if(self, args: Any) -> Any:
        name, yes, no = args
        return self.resolve(yes if self.condition(name) else no)

    def _equals(self, args: Any) -> bool:
        a, b = (self.resolve(x) for x in args)
        return str(a) == str(b)

    # The intrinsic functions the template uses, each as CloudFormation evaluates it.
    _INTRINSICS: ClassVar[dict[str, Callable[[Template, Any], Any]]] = {
        "Ref": lambda t, args: t.ref(args),
        "Fn::GetAtt": _getatt,
        "Fn::Sub": lambda t, args: t._sub(args),
        "Fn::If": _if,
        "Condition": lambda t, args: t.condition(args),
        "Fn::Equals": _equals,
        "Fn::Not": lambda t, args: not t.resolve(args[0]),
        "Fn::And": lambda t, args: all(t.resolve(x) for x in args),
        "Fn::Or": lambda t, args: any(t.resolve(x) for x in args),
        "Fn::Join": lambda t, args: str(args[0]).join(str(x) for x in t.resolve(args[1])),
        "Fn::Split": lambda t, args: str(t.resolve(args[1])).split(args[0]),
        "Fn::Select": lambda t, args: t.resolve(args[1])[int(t.resolve(args[0]))],
    }

    # ------------------------------------------------------------ views
    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types and self.exists(k)}

    def functions(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::Serverless::Function", "AWS::Lambda::Function")

    def role_policy(self, function_logical: str) -> list[dict[str, Any]]:
        """The statements of the function's role (inline policies), resolved."""
        role = self.resources[function_logical]["Properties"]["Role"]
        if not (isinstance(role, dict) and "Fn::GetAtt" in role):
            raise TemplateError(f"{function_logical}: its role is not one of the template's")
        properties = self.resources[role["Fn::GetAtt"][0]]["Properties"]
        statements: list[dict[str, Any]] = []
        for policy in properties.get("Policies", []):
            statements.extend(self.resolve(policy["PolicyDocument"])["Statement"])
        return statements

    def api_paths(self) -> dict[str, dict[str, Any]]:
        """The API Gateway resources (swagger paths) the deployed API would have."""
        apis = self.of_type("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
        if len(apis) != 1:
            raise TemplateError(f"expected one REST API in the template, found {sorted(apis)}")
        (api,) = apis.values()
        body = api["Properties"].get("DefinitionBody") or api["Properties"].get("Body")
        paths = {}
        for path, item in body["paths"].items():
            resolved = self._resolve_lazily(item)
            if resolved is not NO_VALUE:
                paths[path] = resolved
        return paths

    def _resolve_lazily(self, value: Any) -> Any:
        """Conditions and structure only: integration URIs name resources (the API function's
        ARN) that need no local value, so Fn::Sub and Fn::GetAtt are left as they are."""
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                name, yes, no = value["Fn::If"]
                return self._resolve_lazily(yes if self.condition(name) else no)
            if value == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
        return _each(value, self._resolve_lazily)

    def binary_media_types(self) -> list[str]:
        (api,) = self.of_type("AWS::Serverless::Api", "AWS::ApiGateway::RestApi").values()
        body = api["Properties"].get("DefinitionBody") or {}
        return list(body.get("x-amazon-apigateway-binary-media-types", []))

    def api_function(self) -> str:
        """The logical id of the function API Gateway's integrations invoke."""
        for item in self.api_paths().values():
            for method in item.values():
                uri = json.dumps(method.get("x-amazon-apigateway-integration", {}).get("uri", ""))
                found = re.search(r"\$\{(\w+)\.Arn\}", uri)
                if found:
                    return found.group(1)
        raise TemplateError("no API Gateway integration names a function")
