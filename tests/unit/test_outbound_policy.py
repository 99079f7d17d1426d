"""The outbound policy: public addresses, plus what the operator allows."""

from __future__ import annotations

import pytest

from chalicelib.config import load_settings
from chalicelib.domain.outbound import parse_allow
from chalicelib.errors import ConfigurationError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused_by_default(ip: str) -> None:
    assert not parse_allow("").allows("anything.example", ip, 443)


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(ip: str) -> None:
    assert parse_allow("").allows("example.com", ip, 25)


def test_the_allow_list_takes_cidrs_addresses_and_host_ports() -> None:
    policy = parse_allow("127.0.0.0/8, 10.0.0.5, smtp.internal:2525, [fd00::7]:587")
    assert policy.allows("localhost", "127.0.0.1", 9)
    assert policy.allows("x", "10.0.0.5", 80) and not policy.allows("x", "10.0.0.6", 80)
    assert policy.allows("SMTP.internal", "10.9.9.9", 2525) and not policy.allows("smtp.internal", "10.9.9.9", 25)
    assert policy.allows("fd00::7", "fd00::7", 587) and not policy.allows("fd00::7", "fd00::7", 25)


@pytest.mark.parametrize("raw", ["not an entry", "host:99999", "host:", "10.0.0.0/33"])
def test_a_bad_allow_list_stops_start_up(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="MAILPROXY_OUTBOUND_ALLOW"):
        load_settings({"MAILPROXY_API_TOKEN": "t", "MAILPROXY_OUTBOUND_ALLOW": raw})


def test_saving_an_account_on_a_refused_address_warns_naming_the_variable() -> None:
    from chalicelib.domain.outbound import parse_allow, save_warning

    none = parse_allow("")
    warning = save_warning(none, "10.0.0.5", 25)
    assert warning and "MAILPROXY_OUTBOUND_ALLOW" in warning and "10.0.0.5" in warning
    assert save_warning(none, "localhost", 1025) is not None
    assert save_warning(none, "smtp.example.com", 587) is None  # a name: judged when used
    assert save_warning(none, "8.8.8.8", 25) is None  # public
    assert save_warning(parse_allow("10.0.0.0/8"), "10.0.0.5", 25) is None
    assert save_warning(parse_allow("127.0.0.0/8"), "127.0.0.1", 1025) is None
