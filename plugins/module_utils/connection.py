# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of the module and the lookup, and the one rule that turns
their values into `ConnectionOptions`.

Names, aliases and environment variables are those of amazon.aws 10 (its
`doc_fragments/common.py` and `region.py`); the rule is that of its
`get_aws_connection_info`: a profile together with an access key, secret key or session
token is an error wherever each came from (task, keyword argument or environment), and a
key set to an empty string counts as not set, which is how a task uses a profile while
AWX has put keys in the environment. The module reads the environment through
`env_fallback`, the lookup through Ansible's plugin configuration; both then call
`resolve_connection`, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from .aws import AwsError, ConnectionOptions


@dataclass(frozen=True)
class ConnectionOption:
    name: str
    type: str = "str"
    aliases: tuple[str, ...] = ()
    # Read in this order when the option is not given.
    env: tuple[str, ...] = ()
    no_log: Optional[bool] = None
    default: Any = None
    # amazon.aws offers it to modules only (a lookup has no result to add it to).
    module_only: bool = False


CONNECTION_OPTIONS: tuple[ConnectionOption, ...] = (
    ConnectionOption(
        "access_key",
        aliases=("aws_access_key_id", "aws_access_key"),
        env=("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
        no_log=False,
    ),
    ConnectionOption(
        "secret_key",
        aliases=("aws_secret_access_key", "aws_secret_key"),
        env=("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"),
        no_log=True,
    ),
    # amazon.aws 10 dropped AWS_SECURITY_TOKEN, but AWX's Amazon Web Services credential
    # injects an STS token only as AWS_SECURITY_TOKEN; without it the keys AWX injects
    # would be used without their token. It is read after AWS_SESSION_TOKEN.
    ConnectionOption(
        "session_token",
        aliases=("aws_session_token",),
        env=("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"),
        no_log=True,
    ),
    ConnectionOption(
        "profile", aliases=("aws_profile",), env=("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
    ),
    ConnectionOption("region", aliases=("aws_region",), env=("AWS_REGION", "AWS_DEFAULT_REGION")),
    ConnectionOption("endpoint_url", aliases=("aws_endpoint_url",), env=("AWS_URL",)),
    ConnectionOption("validate_certs", type="bool", default=True),
    ConnectionOption("aws_ca_bundle", type="path", env=("AWS_CA_BUNDLE",)),
    ConnectionOption("aws_config", type="dict"),
    ConnectionOption(
        "debug_botocore_endpoint_logs",
        type="bool",
        default=False,
        env=("ANSIBLE_DEBUG_BOTOCORE_LOGS",),
        module_only=True,
    ),
)
KEY_OPTIONS = ("access_key", "secret_key", "session_token")
BY_NAME = {option.name: option for option in CONNECTION_OPTIONS}


def module_option_names() -> list[str]:
    return [option.name for option in CONNECTION_OPTIONS]


def lookup_option_names() -> list[str]:
    return [option.name for option in CONNECTION_OPTIONS if not option.module_only]


def resolve_connection(
    values: Mapping[str, Any], origins: Optional[Mapping[str, str]] = None
) -> ConnectionOptions:
    """Connection option values (after their environment fallbacks) -> ConnectionOptions.

    `origins` says where a value came from (for example "env: AWS_ACCESS_KEY_ID"); it
    only makes the error clearer.
    """
    keys = [name for name in KEY_OPTIONS if values.get(name)]
    if values.get("profile") and keys:
        raise AwsError(
            "InvalidParameterCombination",
            f"profile and {', '.join(keys)} are mutually exclusive: passing both a profile "
            f"and access keys is not supported{_from_where(keys, origins or {})}",
            "set them to '' to use the profile (keys may come from AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN in the environment, as AWX injects "
            "them), or leave out the profile",
            "CreateSession",
        )
    return ConnectionOptions.from_mapping(values)


def _from_where(keys: list[str], origins: Mapping[str, str]) -> str:
    known = [f"{name} from {origins[name]}" for name in keys if origins.get(name)]
    return f" ({', '.join(known)})" if known else ""


def env_origins(values: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Which key options hold the value of one of their environment variables.

    AnsibleModule does not say whether a value came from a fallback; equal to the first
    variable that is set is what a fallback would have produced.
    """
    origins = {}
    for name in KEY_OPTIONS:
        for variable in BY_NAME[name].env:
            if environ.get(variable):
                if values.get(name) == environ[variable]:
                    origins[name] = f"env: {variable}"
                break
    return origins
