"""The connection options: one table, the doc fragments that describe it, and the rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from ansible_collections.redrive.eventbridge.plugins.doc_fragments.connection import (
    ModuleDocFragment,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.ansible_module import (
    CONNECTION_SPEC,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.aws import AwsError
from ansible_collections.redrive.eventbridge.plugins.module_utils.connection import (
    CONNECTION_OPTIONS,
    env_origins,
    lookup_option_names,
    resolve_connection,
)

MODULE_DOC: dict[str, Any] = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
PLUGIN_DOC: dict[str, Any] = yaml.safe_load(ModuleDocFragment.PLUGINS)
# What amazon.aws 10.0.0 removed (its changelog, "Breaking Changes / Porting Guide").
REMOVED_ALIASES = {
    "ec2_access_key", "ec2_secret_key", "ec2_region", "security_token", "aws_security_token",
    "access_token", "endpoint", "ec2_url", "s3_url", "boto_profile",
}  # fmt: skip
REMOVED_VARIABLES = {"EC2_ACCESS_KEY", "EC2_SECRET_KEY", "EC2_SECURITY_TOKEN", "EC2_REGION",
                     "EC2_URL", "S3_URL"}  # fmt: skip
# amazon.aws 10's doc_fragments/common.py and region.py, option by option.
AMAZON_AWS_10 = {
    "access_key": (
        ["aws_access_key_id", "aws_access_key"],
        ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"],
    ),
    "secret_key": (
        ["aws_secret_access_key", "aws_secret_key"],
        ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"],
    ),
    "session_token": (["aws_session_token"], ["AWS_SESSION_TOKEN"]),
    "profile": (["aws_profile"], ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]),
    "region": (["aws_region"], ["AWS_REGION"]),
    "endpoint_url": (["aws_endpoint_url"], ["AWS_URL"]),
    "aws_ca_bundle": ([], ["AWS_CA_BUNDLE"]),
    "debug_botocore_endpoint_logs": ([], ["ANSIBLE_DEBUG_BOTOCORE_LOGS"]),
}


def test_module_fragment_documents_the_table() -> None:
    documented = MODULE_DOC["options"]
    assert set(documented) == {o.name for o in CONNECTION_OPTIONS}
    for option in CONNECTION_OPTIONS:
        doc = documented[option.name]
        assert doc["type"] == option.type, option.name
        assert doc.get("aliases", []) == list(option.aliases), option.name
        assert doc.get("default") == option.default, option.name
        text = " ".join(doc["description"])
        # Modules have no `env:`; the variables are named in the description, in order.
        named = re.findall(r"E\(([A-Z_]+)\)", text)
        assert [v for v in named if v in option.env] == list(option.env), option.name


def test_plugin_fragment_documents_the_table_less_module_only_options() -> None:
    documented = PLUGIN_DOC["options"]
    assert set(documented) == set(lookup_option_names())
    assert "debug_botocore_endpoint_logs" not in documented
    for option in CONNECTION_OPTIONS:
        if option.module_only:
            continue
        doc = documented[option.name]
        assert doc["type"] == option.type, option.name
        assert doc.get("aliases", []) == list(option.aliases), option.name
        assert doc.get("default") == option.default, option.name
        assert [e["name"] for e in doc.get("env", [])] == list(option.env), option.name


def test_module_spec_is_the_table() -> None:
    for option in CONNECTION_OPTIONS:
        spec = CONNECTION_SPEC[option.name]
        assert spec["type"] == option.type
        assert spec.get("aliases", []) == list(option.aliases)
        if option.env:
            assert list(spec["fallback"][1]) == list(option.env)
        else:
            assert "fallback" not in spec
        assert spec.get("default") == option.default
    assert CONNECTION_SPEC["access_key"]["no_log"] is False
    assert CONNECTION_SPEC["secret_key"]["no_log"] is True
    assert CONNECTION_SPEC["session_token"]["no_log"] is True


def test_what_amazon_aws_10_removed_is_gone() -> None:
    for option in CONNECTION_OPTIONS:
        assert not REMOVED_ALIASES & set(option.aliases), option.name
        assert not REMOVED_VARIABLES & set(option.env), option.name
    for doc in (MODULE_DOC, PLUGIN_DOC):
        for name, option in doc["options"].items():
            assert not REMOVED_ALIASES & set(option.get("aliases", [])), name
    text = ModuleDocFragment.DOCUMENTATION + ModuleDocFragment.PLUGINS
    for variable in REMOVED_VARIABLES:
        assert variable not in text, variable


@pytest.mark.parametrize("name", sorted(AMAZON_AWS_10))
def test_names_aliases_and_variables_are_amazon_aws_10s(name: str) -> None:
    aliases, variables = AMAZON_AWS_10[name]
    option = next(o for o in CONNECTION_OPTIONS if o.name == name)
    assert list(option.aliases) == aliases
    # Its variables come first and in its order; where one is added it is said why
    # (AWS_SECURITY_TOKEN for AWX, AWS_DEFAULT_REGION which botocore reads anyway).
    assert list(option.env[: len(variables)]) == variables
    assert set(option.env[len(variables) :]) <= {"AWS_SECURITY_TOKEN", "AWS_DEFAULT_REGION"}


def test_keys_alone_and_a_profile_alone_resolve() -> None:
    keys = resolve_connection({"access_key": "AKIA", "secret_key": "s", "region": "eu-west-1"})
    assert (keys.access_key, keys.secret_key, keys.profile) == ("AKIA", "s", None)
    profile = resolve_connection({"profile": "ops", "access_key": "", "secret_key": ""})
    assert (profile.profile, profile.access_key, profile.secret_key) == ("ops", None, None)


@pytest.mark.parametrize(
    "given",
    [
        {"profile": "ops", "access_key": "AKIA"},
        {"profile": "ops", "secret_key": "s"},
        {"profile": "ops", "session_token": "t"},
    ],
)
def test_a_profile_with_any_key_is_an_error(given: dict[str, str]) -> None:
    with pytest.raises(AwsError) as raised:
        resolve_connection(given)
    error = raised.value
    assert error.code == "InvalidParameterCombination"
    assert "mutually exclusive" in error.message
    assert "set them to ''" in error.hint
    # Key values are never shown, only the option names.
    for name, value in given.items():
        if name != "profile":
            assert f"{name}=" not in error.describe() and f"'{value}'" not in error.describe()


def test_the_error_says_where_the_keys_came_from() -> None:
    values = {"profile": "ops", "access_key": "AKIAAWX", "secret_key": "secret"}
    environ = {"AWS_ACCESS_KEY_ID": "AKIAAWX", "AWS_SECRET_KEY": "secret", "AWS_ACCESS_KEY": "x"}
    origins = env_origins(values, environ)
    assert origins == {"access_key": "env: AWS_ACCESS_KEY_ID", "secret_key": "env: AWS_SECRET_KEY"}
    with pytest.raises(AwsError) as raised:
        resolve_connection(values, origins)
    assert "access_key from env: AWS_ACCESS_KEY_ID" in raised.value.message
    assert "secret" not in raised.value.message.replace("secret_key", "")


def test_a_task_value_equal_to_no_variable_has_no_origin() -> None:
    assert env_origins({"access_key": "AKIATASK"}, {"AWS_ACCESS_KEY_ID": "AKIAENV"}) == {}
