# Writes every task result as one JSON line, so tests read results, not screen output.
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: result_dump
type: aggregate
short_description: write task results as JSON lines to $RESULT_DUMP_FILE
description: Test helper.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "result_dump"
    CALLBACK_NEEDS_ENABLED = True

    def _dump(self, result, status: str) -> None:
        path = os.environ.get("RESULT_DUMP_FILE")
        if not path:
            return
        line = {
            "task": result._task.get_name(),
            "status": status,
            "result": result._result,
        }
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(line, default=str) + "\n")

    def v2_runner_on_ok(self, result) -> None:
        self._dump(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._dump(result, "failed")

    def v2_runner_on_skipped(self, result) -> None:
        self._dump(result, "skipped")
