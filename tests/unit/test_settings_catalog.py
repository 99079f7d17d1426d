"""Every setting reaches the code one way, in AWS and in make dev: the catalogue, the
template's parameters, make dev's routing and the README agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.config import effective, load_settings, read
from chalicelib.errors import ConfigurationError
from chalicelib.settings_catalog import BY_ENV, SETTINGS, render
from devstack.cfn import TemplateError, check_parameter
from devstack.settings import SettingsError, route
from infra.template import PARAMETERS, SPECIFIC_ENV, TUNABLE, functions, merge_template

ROOT = Path(__file__).resolve().parents[2]


def test_every_tunable_setting_is_a_template_parameter_with_the_codes_default() -> None:
    for setting in TUNABLE:
        assert setting.parameter is not None
        spec = PARAMETERS[setting.parameter]
        # The parameter's default, read by config.py, is the code's own default.
        assert (
            read({setting.env: str(spec["Default"])})[setting.attribute]
            == (setting.default if setting.default is not None else None)
            or spec["Default"] == ""
        ), setting.env
        if spec["Type"] == "Number":
            assert spec["MinValue"] >= (setting.minimum or 0), setting.env
            assert spec.get("MaxValue") == setting.maximum, setting.env


def test_every_function_gets_every_tunable_setting_from_its_parameter() -> None:
    resources = merge_template()["Resources"]
    for logical in functions():
        variables = resources[logical]["Properties"]["Environment"]["Variables"]
        for setting in TUNABLE:
            if setting.env in SPECIFIC_ENV:
                continue
            assert variables[setting.env] == {"Ref": setting.parameter}, (logical, setting.env)
    dispatch = resources["DispatchFunction"]["Properties"]["Environment"]["Variables"]
    assert "PublicUrl" in str(dispatch["MAILPROXY_PUBLIC_URL"])


def test_the_operations_guide_documents_every_setting_and_nothing_else() -> None:
    readme = (ROOT / "docs" / "operations.md").read_text()
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ", 3)]
    documented = set(re.findall(r"`((?:MAILPROXY_|DATABASE_URL)[A-Z_]*)`", table))
    catalogued = {s.env for s in SETTINGS}
    assert catalogued - documented == set(), "catalogued but not in docs/operations.md, Configuration"
    from chalicelib.settings_catalog import CLI_VARIABLES, DEVSTACK_VARIABLES

    assert documented - catalogued - DEVSTACK_VARIABLES - CLI_VARIABLES == set()


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("MAILPROXY_MAX_RETRIES", "-1", "MAILPROXY_MAX_RETRIES must be 0..100"),
        ("MAILPROXY_ATTACHMENT_TIMEOUT", "0", "MAILPROXY_ATTACHMENT_TIMEOUT must be 0.1..60"),
        ("MAILPROXY_SMTP_TIMEOUT", "nan", "finite"),
        ("MAILPROXY_MAX_LIST", "forty", "must be an integer"),
        ("MAILPROXY_RETRY_DELAYS", "", "at least one delay"),
        ("MAILPROXY_SCHEDULER_ENABLED", "perhaps", "must be a boolean"),
        ("MAILPROXY_QUEUE_PREFIX", "bad prefix", "<= 30 of"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(name: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        load_settings({name: raw})


def test_bounds_are_inclusive_for_integers_and_numbers_alike() -> None:
    assert load_settings({"MAILPROXY_MAX_RETRIES": "0"}).max_retries == 0
    assert load_settings({"MAILPROXY_ATTACHMENT_TIMEOUT": "0.1"}).attachment_timeout == 0.1
    assert load_settings({"MAILPROXY_ATTACHMENT_TIMEOUT": "60"}).attachment_timeout == 60


def test_status_shows_settings_in_force_but_never_a_secret() -> None:
    shown = effective(
        load_settings(
            {
                "MAILPROXY_API_TOKEN": "hush",
                "MAILPROXY_ENCRYPTION_KEY": "k" * 40,
                "MAILPROXY_MAX_LIST": "40",
                "MAILPROXY_OUTBOUND_ALLOW": "10.0.0.0/8",
            }
        )
    )
    assert shown["MAILPROXY_MAX_LIST"] == "40"
    assert shown["MAILPROXY_OUTBOUND_ALLOW"] == "10.0.0.0/8"
    assert shown["MAILPROXY_RETRY_DELAYS"] == "60,300,900,3600,7200"
    assert "hush" not in str(shown) and "k" * 40 not in str(shown)
    assert not {"MAILPROXY_API_TOKEN", "MAILPROXY_ENCRYPTION_KEY", "DATABASE_URL"} & set(shown)


def test_make_dev_routes_tunables_as_template_parameters() -> None:
    routed = route(
        {
            "MAILPROXY_RETRY_DELAYS": "2,2,2",
            "MAILPROXY_MAX_LIST": "40",
            "MAILPROXY_SCHEDULE_TICK": "1",
            "MAILPROXY_ENCRYPTION_KEY": "secret-key",
        }
    )
    assert routed.parameters == {"RetryDelays": "2,2,2", "MaxList": "40"}
    assert routed.local == {"MAILPROXY_SCHEDULE_TICK": "1"}
    assert routed.secrets == {"MAILPROXY_ENCRYPTION_KEY": "secret-key"}
    assert "MAILPROXY_MAX_LIST=40 (default 10000)" in routed.applied
    assert not any("secret-key" in line for line in routed.applied)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MAILPROXY_MAX_RETRY": "3"},
            "MAILPROXY_MAX_RETRY is not a Mail Proxy setting (did you mean MAILPROXY_MAX_RETRIES?)",
        ),
        ({"MAILPROXY_SYSTEM_QUEUE_URL": "x"}, "written by the template"),
        ({"MAILPROXY_MAX_LIST": "0"}, "MAILPROXY_MAX_LIST must be 1..100000"),
    ],
)
def test_make_dev_refuses_an_unknown_or_bad_setting_by_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        route(env)


def test_make_dev_ignores_its_own_and_the_clis_variables() -> None:
    assert route({"MAILPROXY_PORT": "8001", "MAILPROXY_TOKEN": "t", "MAILPROXY_CONFIG": "/x"}).parameters == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MaxRetries", "101", "not greater than 100"),
        ("ClaimLease", "60", "not less than 121"),
        ("RetryDelays", "2;2", "must match pattern"),
        ("SchedulerEnabled", "yes", "AllowedValues"),
    ],
)
def test_the_local_cloudformation_checks_parameters_as_aws_does(name: str, value: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        check_parameter(name, PARAMETERS[name], value)


def test_rendered_defaults_read_back_as_the_defaults() -> None:
    for setting in SETTINGS:
        if setting.default is None or setting.where == "wiring":
            continue
        assert read({setting.env: render(setting, setting.default)})[setting.attribute] == setting.default
    assert BY_ENV["MAILPROXY_MAX_LIST"].parameter == "MaxList"
