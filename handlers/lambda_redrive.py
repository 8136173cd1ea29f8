# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Lambda function that redrives an EventBridge dead-letter queue continuously.

Handler: ansible_collections.redrive.eventbridge.handlers.lambda_redrive.handler

With an SQS event source mapping (FunctionResponseTypes: [ReportBatchItemFailures]) it
settles each batch and answers with a partial batch response; from EventBridge Scheduler,
a schedule rule or `{"redrive": {...}}` it drains the queue in QUEUE within the time left.
The work is done in plugins/module_utils/lambda_runtime.py; this file is the entry point.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.redrive.eventbridge.plugins.module_utils.lambda_runtime import Function

# Read and checked when Lambda loads the module: a bad setting fails the function's
# start, before it is handed any message.
FUNCTION = Function.from_environment(os.environ)


def handler(event: Any, context: Any) -> dict[str, Any]:
    return FUNCTION.handle(event, context)
