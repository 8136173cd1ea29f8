# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AnsibleModule glue: the connection options of amazon.aws and error reporting.

The only module_utils file that imports Ansible, so the core stays usable
from the AWS CLI plugin.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from .aws import ActionLog, AwsError, Clients, make_clients, sdk_version_warnings
from .connection import CONNECTION_OPTIONS, ConnectionOption, env_origins, resolve_connection


def _spec(option: ConnectionOption) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": option.type}
    if option.aliases:
        spec["aliases"] = list(option.aliases)
    if option.env:
        spec["fallback"] = (env_fallback, list(option.env))
    if option.no_log is not None:
        spec["no_log"] = option.no_log
    if option.default is not None:
        spec["default"] = option.default
    return spec


CONNECTION_SPEC: dict[str, dict[str, Any]] = {
    option.name: _spec(option) for option in CONNECTION_OPTIONS
}


class AwsModule(AnsibleModule):
    """An AnsibleModule whose results carry `resource_actions` when
    debug_botocore_endpoint_logs asks for them, as amazon.aws modules do."""

    action_log: Optional[ActionLog] = None

    def exit_json(self, **kwargs: Any) -> None:  # type: ignore[override]
        super().exit_json(**self._with_actions(kwargs))

    def fail_json(self, msg: str, **kwargs: Any) -> None:  # type: ignore[override]
        super().fail_json(msg, **self._with_actions(kwargs))

    def _with_actions(self, result: dict[str, Any]) -> dict[str, Any]:
        if self.action_log is not None:
            result["resource_actions"] = self.action_log.actions()
        return result


def aws_module(argument_spec: dict[str, dict[str, Any]], **kwargs: Any) -> AwsModule:
    spec = dict(CONNECTION_SPEC)
    spec.update(argument_spec)
    module = AwsModule(argument_spec=spec, **kwargs)
    try:
        warnings = sdk_version_warnings()
    except AwsError as error:
        module.fail_json(msg=missing_required_lib("boto3 and botocore"), exception=error.message)
        raise  # fail_json exits; this keeps type checkers honest
    for warning in warnings:
        module.warn(warning)
    return module


def module_clients(module: AwsModule, pool_size: int) -> Clients:
    params = module.params
    if params.get("debug_botocore_endpoint_logs"):
        module.action_log = ActionLog()
    try:
        connection = resolve_connection(params, env_origins(params, os.environ))
        return make_clients(connection, pool_size, module.action_log)
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
