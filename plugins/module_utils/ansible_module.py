# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AnsibleModule glue: the connection options of amazon.aws and error reporting.

The only module_utils file that imports Ansible, so the core stays usable
from the AWS CLI plugin.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from .aws import BOTO3_IMPORT_ERROR, HAS_BOTO3, AwsError, Clients, ConnectionOptions, make_clients

CONNECTION_SPEC: dict[str, dict[str, Any]] = {
    "access_key": {
        "type": "str",
        "aliases": ["aws_access_key_id", "aws_access_key", "ec2_access_key"],
        "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"]),
        "no_log": False,
    },
    "secret_key": {
        "type": "str",
        "aliases": ["aws_secret_access_key", "aws_secret_key", "ec2_secret_key"],
        "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"]),
        "no_log": True,
    },
    "session_token": {
        "type": "str",
        "aliases": ["aws_session_token", "security_token", "aws_security_token", "access_token"],
        "fallback": (
            env_fallback,
            ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN"],
        ),
        "no_log": True,
    },
    "profile": {
        "type": "str",
        "aliases": ["aws_profile"],
        "fallback": (env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]),
    },
    "region": {
        "type": "str",
        "aliases": ["aws_region", "ec2_region"],
        "fallback": (env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"]),
    },
    "endpoint_url": {
        "type": "str",
        "aliases": ["aws_endpoint_url", "ec2_url"],
        "fallback": (env_fallback, ["AWS_URL", "EC2_URL"]),
    },
    "validate_certs": {"type": "bool", "default": True},
    "aws_ca_bundle": {"type": "path", "fallback": (env_fallback, ["AWS_CA_BUNDLE"])},
    "aws_config": {"type": "dict"},
}

# A profile names its own credentials; mixing both is ambiguous.
CONNECTION_MUTUALLY_EXCLUSIVE = [["profile", "access_key"], ["profile", "secret_key"]]


def aws_module(argument_spec: dict[str, dict[str, Any]], **kwargs: Any) -> AnsibleModule:
    spec = dict(CONNECTION_SPEC)
    spec.update(argument_spec)
    exclusive = list(kwargs.pop("mutually_exclusive", [])) + CONNECTION_MUTUALLY_EXCLUSIVE
    module = AnsibleModule(argument_spec=spec, mutually_exclusive=exclusive, **kwargs)
    if not HAS_BOTO3:
        module.fail_json(
            msg=missing_required_lib("boto3 and botocore"), exception=BOTO3_IMPORT_ERROR
        )
    return module


def module_clients(module: AnsibleModule, pool_size: int) -> Clients:
    try:
        return make_clients(ConnectionOptions.from_mapping(module.params), pool_size)
    except AwsError as error:
        fail_aws(module, error)
        raise  # fail_aws exits; this keeps type checkers honest


def fail_aws(module: AnsibleModule, error: AwsError, **result: Any) -> None:
    module.fail_json(
        msg=error.describe(),
        error={
            "code": error.code,
            "message": error.message,
            "hint": error.hint,
            "action": error.action,
        },
        **result,
    )
