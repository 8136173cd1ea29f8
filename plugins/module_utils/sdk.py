# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which botocore the collection can work with, checked by version and by feature.

Two checks, as amazon.aws has them. `version_warnings` compares PyPI version numbers
with the supported minimum and only warns (amazon.aws `check_sdk_version_supported`).
`missing_features` looks into a client's service model for the operations and request
members the core sends, and a client that lacks one is refused with the minimum to
install: the model is what decides whether a call can be made, and it is also the only
thing that can be checked for the botocore AWS CLI v2 carries inside itself, whose
version numbers ("2.0.0dev155") have nothing to do with PyPI's (AWS CLI v1 carries its
own copy too, numbered like PyPI's but not installed as PyPI's).

No botocore import here: callers pass the module or the model they have.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, replace
from typing import Any, Optional

# The first PyPI releases whose models have every operation and request member the core
# sends (checked in the released wheels). The newest of them: Kinesis PutRecords's
# StreamARN came with botocore 1.29.31 (1.29.30 has none), SNS PublishBatch with 1.23.8;
# boto3 1.26.31 is the release that requires botocore 1.29.31. ReceiveMessage's
# MessageSystemAttributeNames is newer still, but aws.py sends the older AttributeNames
# to a model without it, so it sets no minimum.
MINIMUM_BOTOCORE_VERSION = "1.29.31"
MINIMUM_BOTO3_VERSION = "1.26.31"

MemberPath = tuple[str, ...]


@dataclass(frozen=True)
class Feature:
    """An operation the core calls, and optionally a request member it sends."""

    service: str
    operation: str
    member: MemberPath = ()
    needed_for: str = ""

    def describe(self) -> str:
        name = f"{self.service} {self.operation}"
        if self.member:
            name += " " + ".".join(self.member)
        return f"{name} ({self.needed_for})" if self.needed_for else name


_SQS = "reading and settling the DLQ"
_BUS = "putting events back on their bus"
_RULES = "reading the failed rule and its targets"
# Per service, what the core calls on a client of that service. A client is checked when
# it is made, so a target service's API is required only by a run that delivers there.
FEATURES: dict[str, tuple[Feature, ...]] = {
    "sqs": (
        *(
            Feature("sqs", operation, needed_for=_SQS)
            for operation in (
                "GetQueueUrl",
                "GetQueueAttributes",
                "ReceiveMessage",
                "DeleteMessageBatch",
                "ChangeMessageVisibilityBatch",
            )
        ),
        # Quarantine copies, and SQS targets (a FIFO queue gets a deduplication id).
        Feature("sqs", "SendMessageBatch", ("Entries", "MessageDeduplicationId"), "SQS targets"),
    ),
    "events": (
        Feature("events", "PutEvents", ("Entries", "EventBusName"), _BUS),
        Feature("events", "DescribeEventBus", ("Name",), _BUS),
        Feature("events", "DescribeRule", ("EventBusName",), _RULES),
        Feature("events", "ListTargetsByRule", ("EventBusName",), _RULES),
    ),
    "sns": (
        Feature(
            "sns", "PublishBatch", ("PublishBatchRequestEntries", "MessageGroupId"), "SNS targets"
        ),
    ),
    "lambda": (Feature("lambda", "Invoke", needed_for="Lambda targets"),),
    "stepfunctions": (
        Feature("stepfunctions", "StartExecution", needed_for="Step Functions targets"),
    ),
    "kinesis": (Feature("kinesis", "PutRecords", ("StreamARN",), "Kinesis targets"),),
    "firehose": (Feature("firehose", "PutRecordBatch", needed_for="Firehose targets"),),
    "logs": (
        Feature("logs", "PutLogEvents", needed_for="CloudWatch Logs targets"),
        Feature("logs", "CreateLogStream", needed_for="CloudWatch Logs targets"),
    ),
}


def has_member(shape: Any, path: MemberPath) -> bool:
    """Whether a botocore shape has the nested member (lists are looked through)."""
    for name in path:
        while getattr(shape, "type_name", None) == "list":
            shape = shape.member
        members = getattr(shape, "members", None)
        if not members or name not in members:
            return False
        shape = members[name]
    return True


def missing_features(service_model: Any, service: str) -> list[Feature]:
    """What of `service`'s features this client's model lacks (unknown services: nothing):
    the operation alone where it is absent, else the request member."""
    missing = []
    operations = set(service_model.operation_names)
    for feature in FEATURES.get(service, ()):
        if feature.operation not in operations:
            missing.append(replace(feature, member=()))
        elif feature.member and not has_member(
            service_model.operation_model(feature.operation).input_shape, feature.member
        ):
            missing.append(feature)
    return missing


def bundling_cli(botocore_module: Any) -> Optional[int]:
    """The major version of the AWS CLI whose own copy of botocore this is, or None.

    AWS CLI v2 carries a botocore at awscli/botocore and loads it under the name
    `botocore`; so does AWS CLI v1 since it stopped depending on PyPI's (1.46.3 carries
    botocore 1.43.62). The path tells a CLI's copy from PyPI's; the `awscli` the process
    has loaded (that copy is imported through it) tells v1 from v2. Without it, the
    copy's own number does: v2's is 2.0.0devN, v1's a 1.x release."""
    path = str(getattr(botocore_module, "__file__", "") or "")
    if f"{os.sep}awscli{os.sep}botocore{os.sep}" not in path:
        return None
    for owner in (sys.modules.get("awscli"), botocore_module):
        version = parse_version(str(getattr(owner, "__version__", "") or ""))
        if version is not None:
            return version[0]
    return None


def describe_botocore(botocore_module: Any) -> str:
    version = getattr(botocore_module, "__version__", "unknown")
    cli = bundling_cli(botocore_module)
    if cli is not None:
        return f"the botocore inside AWS CLI v{cli} ({version})"
    return f"botocore {version}"


def upgrade_hint(botocore_module: Any) -> str:
    cli = bundling_cli(botocore_module)
    if cli == 1:
        return "install a newer AWS CLI v1 (pip install --upgrade awscli)"
    if cli is not None:
        return f"install a newer AWS CLI v{cli}"
    return f"install botocore >= {MINIMUM_BOTOCORE_VERSION} and boto3 >= {MINIMUM_BOTO3_VERSION}"


def parse_version(text: str) -> Optional[tuple[int, ...]]:
    """'1.44.5' -> (1, 44, 5); None for what is not a release number."""
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(part) for part in match.groups()) if match else None


def version_warnings(botocore_version: str, boto3_version: Optional[str] = None) -> list[str]:
    """What amazon.aws would warn about: an SDK older than the supported minimum."""
    warnings = []
    for name, found, minimum in (
        ("botocore", botocore_version, MINIMUM_BOTOCORE_VERSION),
        ("boto3", boto3_version, MINIMUM_BOTO3_VERSION),
    ):
        if found is None:
            continue
        parsed = parse_version(found)
        if parsed is not None and parsed < (parse_version(minimum) or ()):
            warnings.append(
                f"{name} < {minimum} is not supported ({name} {found} is installed): "
                f"some targets cannot be delivered to; install {name} >= {minimum}"
            )
    return warnings
