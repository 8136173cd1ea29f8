# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS clients from one options mapping or from a caller's session, and AWS errors people
can act on.

The module, the lookup and the CLI all connect through here, so a setting means the same
thing in all three. Only botocore is imported at the top, and only what every botocore
this runs with has (PyPI's, and the one AWS CLI v2 carries inside itself): the CLI builds
its clients from the session AWS CLI hands the command, and must never import boto3,
which fails against AWS CLI v2's botocore. boto3 is imported by `make_clients` alone
(and by decrypt.py with the Encryption SDK, on the first wrapper to decrypt).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from . import sdk
from .failures import one_line

try:
    import botocore
    import botocore.config
    import botocore.exceptions

    HAS_BOTOCORE = True
    BOTOCORE_IMPORT_ERROR: Optional[str] = None
except ImportError as import_error:  # pragma: no cover - exercised by ansible-test import
    HAS_BOTOCORE = False
    BOTOCORE_IMPORT_ERROR = str(import_error)

# Long polls hold the connection open for up to 20 s; the read timeout must outlast them.
READ_TIMEOUT_SECONDS = 40
CONNECT_TIMEOUT_SECONDS = 10
USER_AGENT = "redrive.eventbridge/0.1.0"


@dataclass(frozen=True)
class ConnectionOptions:
    """Where and as whom to connect; None means "let boto3 decide"."""

    region: Optional[str] = None
    profile: Optional[str] = None
    access_key: Optional[str] = None
    secret_key: Optional[str] = None
    session_token: Optional[str] = None
    endpoint_url: Optional[str] = None
    validate_certs: bool = True
    aws_ca_bundle: Optional[str] = None
    aws_config: Mapping[str, Any] = field(default_factory=dict)
    max_attempts: int = 8

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> ConnectionOptions:
        names = cls.__dataclass_fields__.keys()  # type: ignore[attr-defined]
        # An empty environment variable means "not set", as it does for boto3.
        values = {name: options[name] for name in names if options.get(name) not in (None, "")}
        return cls(**values)


class AwsError(Exception):
    """An AWS failure with its error code and a hint on what to do."""

    def __init__(self, code: str, message: str, hint: str = "", action: str = "") -> None:
        self.code = code
        self.message = message
        self.hint = hint
        self.action = action
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: AWS's code and message bounded (a 5xx can answer with a whole page),
        the action and our hint whole."""
        text = f"{self.action}: " if self.action else ""
        text += f"{one_line(self.code, 100)}: {one_line(self.message)}"
        return f"{text} ({self.hint})" if self.hint else text


_KMS_HINT = (
    "grant kms:GenerateDataKey and kms:Decrypt on the target's KMS key to the caller "
    "(see docs/iam.md)"
)
_HINTS = {
    "AWS.SimpleQueueService.NonExistentQueue": "check the queue name, URL or ARN and the region",
    "QueueDoesNotExist": "check the queue name, URL or ARN and the region",
    "ResourceNotFoundException": "check the event bus name and the region",
    "AccessDenied": "grant this action to the caller (see the IAM policy in the docs)",
    "AccessDeniedException": "grant this action to the caller (see the IAM policy in the docs)",
    "InvalidClientTokenId": "the access key is not valid in this account or region",
    "UnrecognizedClientException": "the access key is not valid in this account or region",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "ExpiredToken": "the session token has expired; refresh the credentials",
    "ThrottlingException": "the API throttled the call past the retry budget; lower rate_limit",
    # An encrypted target queue, topic or stream whose KMS key the caller may not use.
    "KMS.AccessDeniedException": _KMS_HINT,
    "KmsAccessDenied": _KMS_HINT,
    "KMSAccessDenied": _KMS_HINT,
    "KMSAccessDeniedException": _KMS_HINT,
}

# The IAM action that authorises each API call: batch calls use the single action's name
# (SendMessageBatch and PublishBatch need sqs:SendMessage and sns:Publish), and Invoke is
# the one call whose action is named otherwise.
IAM_ACTIONS = {
    "GetQueueUrl": "sqs:GetQueueUrl",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "SendMessageBatch": "sqs:SendMessage",
    "PutEvents": "events:PutEvents",
    "DescribeEventBus": "events:DescribeEventBus",
    "DescribeRule": "events:DescribeRule",
    "ListTargetsByRule": "events:ListTargetsByRule",
    "Invoke": "lambda:InvokeFunction",
    "PublishBatch": "sns:Publish",
    "StartExecution": "states:StartExecution",
    "PutRecords": "kinesis:PutRecords",
    "PutRecordBatch": "firehose:PutRecordBatch",
    "CreateLogStream": "logs:CreateLogStream",
    "PutLogEvents": "logs:PutLogEvents",
}


def aws_error(error: BaseException, action: str) -> AwsError:
    """Translate a botocore exception into an AwsError naming the action."""
    if HAS_BOTOCORE and isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", "Unknown"))
        message = str(details.get("Message", "")) or str(error)
        hint = _HINTS.get(code, "")
        if _is_denied(code) and action in IAM_ACTIONS:
            hint = f"grant {IAM_ACTIONS[action]} to the caller (see docs/iam.md)"
        return AwsError(code, message, hint, action)
    if HAS_BOTOCORE and isinstance(error, botocore.exceptions.NoCredentialsError):
        return AwsError(
            "NoCredentials",
            "no AWS credentials found",
            "set access_key/secret_key, a profile, or the AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY environment variables",
            action,
        )
    if HAS_BOTOCORE and isinstance(error, botocore.exceptions.NoRegionError):
        return AwsError(
            "NoRegion", "no region given", "set region or AWS_REGION/AWS_DEFAULT_REGION", action
        )
    if HAS_BOTOCORE and isinstance(error, botocore.exceptions.EndpointConnectionError):
        return AwsError(
            "EndpointConnectionError", str(error), "check endpoint_url and the region", action
        )
    if HAS_BOTOCORE and isinstance(error, botocore.exceptions.BotoCoreError):
        return AwsError(type(error).__name__, str(error), "", action)
    return AwsError(type(error).__name__, str(error), "", action)


def _is_denied(code: str) -> bool:
    # SNS answers an IAM refusal with AuthorizationError; the others with an AccessDenied code.
    return code.startswith("AccessDenied") or code == "AuthorizationError"


def error_code(error: BaseException) -> str:
    if HAS_BOTOCORE and isinstance(error, botocore.exceptions.ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


ClientFactory = Callable[[str, Optional[str]], Any]


@dataclass
class Clients:
    """The clients of one run, shared by all workers (they are thread-safe).

    `sqs` and `events` serve the DLQ's region; `client(service, region)` makes (once)
    the client a target needs, in the target's own region.
    """

    sqs: Any
    events: Any
    factory: Optional[ClientFactory] = None
    _made: dict[tuple[str, Optional[str]], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str, region: Optional[str] = None) -> Any:
        same_region = region is None or region == self.region or self.factory is None
        if same_region and service in ("sqs", "events"):
            return self.sqs if service == "sqs" else self.events
        with self._lock:
            key = (service, region)
            if key not in self._made:
                if self.factory is None:
                    raise AwsError(
                        "MissingClient", f"no {service} client for region {region or '(default)'}"
                    )
                self._made[key] = self.factory(service, region)
            return self._made[key]

    @property
    def region(self) -> Optional[str]:
        meta = getattr(self.sqs, "meta", None)
        return getattr(meta, "region_name", None)


def client_config(
    pool_size: int, max_attempts: int = 8, extra: Optional[Mapping[str, Any]] = None
) -> Any:
    """The botocore client Config of every caller (module, lookup, CLI); `extra` wins."""
    _require_botocore()
    settings: dict[str, Any] = {
        "retries": {"mode": "adaptive", "max_attempts": max_attempts},
        "max_pool_connections": max(pool_size, 10),
        "read_timeout": READ_TIMEOUT_SECONDS,
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        # Every request is built here from parsed records; client-side validation
        # re-checks them at a CPU cost close to the rest of a redrive, and AWS
        # validates again anyway (a rejected request keeps its messages).
        "parameter_validation": False,
        # A fixed User-Agent names this tool in CloudTrail and spares botocore
        # rebuilding its composite one on every request.
        "user_agent": f"{USER_AGENT} botocore/{botocore.__version__}",
    }
    settings.update(extra or {})
    return botocore.config.Config(**settings)


class ActionLog:
    """The distinct `service:Operation` calls of a run, as amazon.aws's
    debug_botocore_endpoint_logs reports them in `resource_actions`."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call", self._record)

    def _record(self, model: Any, **_kwargs: Any) -> None:
        with self._lock:
            self._seen.add(f"{model.service_model.endpoint_prefix}:{model.name}")

    def actions(self) -> list[str]:
        with self._lock:
            return sorted(self._seen)


def _system_attribute_names_as_attribute_names(
    params: dict[str, Any], model: Any, **_kwargs: Any
) -> None:
    """ReceiveMessage asks for system attributes with `MessageSystemAttributeNames`; a
    botocore whose SQS model predates it (AWS CLI v2 2.9's among them) knows only the
    older `AttributeNames`, and with parameter validation off its serializer fails with
    a KeyError on the unknown name. Both names ask SQS for the same attributes."""
    if "MessageSystemAttributeNames" in params and not sdk.has_member(
        model.input_shape, ("MessageSystemAttributeNames",)
    ):
        params["AttributeNames"] = params.pop("MessageSystemAttributeNames")


def _prepare(client: Any, service: str, action_log: Optional[ActionLog]) -> None:
    """Refuse a client whose model lacks what the core calls; adapt what differs."""
    missing = sdk.missing_features(client.meta.service_model, service)
    if missing:
        raise AwsError(
            "MissingDependency",
            f"{sdk.describe_botocore(botocore)} has no {missing[0].describe()}",
            sdk.upgrade_hint(botocore),
            "CreateClient",
        )
    if service == "sqs":
        client.meta.events.register(
            "before-parameter-build.sqs.ReceiveMessage",
            _system_attribute_names_as_attribute_names,
        )
    if action_log is not None:
        action_log.attach(client)


def parse_blobs_as_bytes(session: Any) -> None:
    """Make the clients a botocore session creates from now on return blobs as bytes.

    AWS CLI v1 and v2 put an identity blob parser on their session's response parser
    factory (v1 customizations/scalarparse.py, v2 customizations/binaryformat.py) so that
    binary output prints as base64 text. Clients the plugin makes from that session would
    get a KMS Decrypt `Plaintext` as that text, which the Encryption SDK cannot use, and
    an SQS `BinaryValue` as text that a quarantine copy would base64 encode a second
    time. The plugin's command is the only thing the process runs, so botocore's own
    parser (base64 to bytes, as boto3 clients have it) is restored for all of them."""
    session.get_component("response_parser_factory").set_parser_defaults(blob_parser=None)


def session_clients(
    create_client: Callable[..., Any],
    region: Optional[str] = None,
    endpoint_url: Optional[str] = None,
    verify: Any = None,
    config: Any = None,
    action_log: Optional[ActionLog] = None,
) -> Clients:
    """Clients from a session's client constructor: boto3's `Session.client` for the
    module and the lookup, botocore's `Session.create_client` for the CLI (the session
    AWS CLI hands the command, with its own botocore). Target clients in other regions
    are made by the same constructor, with the same endpoint, TLS and config."""
    _require_botocore()

    def create(service: str, in_region: Optional[str] = None) -> Any:
        try:
            client = create_client(
                service,
                region_name=in_region or region,
                endpoint_url=endpoint_url,
                verify=verify,
                config=config,
            )
        except botocore.exceptions.BotoCoreError as error:  # no region, unknown profile, ...
            raise aws_error(error, "CreateClient") from None
        _prepare(client, service, action_log)
        return client

    return Clients(sqs=create("sqs"), events=create("events"), factory=create)


def make_clients(
    options: ConnectionOptions, pool_size: int = 10, action_log: Optional[ActionLog] = None
) -> Clients:
    """One boto3 session, one SQS and one EventBridge client (module and lookup).

    Whole-call throttling and 5xx answers are retried by botocore's adaptive
    mode, whose client-side rate limiter slows every worker sharing the client.
    """
    boto3 = import_boto3()
    try:
        session = boto3.session.Session(
            profile_name=options.profile,
            aws_access_key_id=options.access_key,
            aws_secret_access_key=options.secret_key,
            aws_session_token=options.session_token,
            region_name=options.region,
        )
    except botocore.exceptions.BotoCoreError as error:
        raise aws_error(error, "CreateSession") from None
    if not session.region_name:
        # Even with endpoint_url, requests are signed for a region; guessing one is worse.
        raise aws_error(botocore.exceptions.NoRegionError(), "CreateSession")
    # As amazon.aws: a CA bundle is used only while certificates are verified at all.
    verify: Any = (
        options.aws_ca_bundle
        if options.validate_certs and options.aws_ca_bundle
        else options.validate_certs
    )
    return session_clients(
        session.client,
        region=session.region_name,
        endpoint_url=options.endpoint_url,
        verify=verify,
        config=client_config(pool_size, options.max_attempts, options.aws_config),
        action_log=action_log,
    )


def import_boto3() -> Any:
    """boto3, imported on first use: the CLI path never gets here."""
    _require_botocore()
    try:
        import boto3
    except ImportError as error:
        raise AwsError(
            "MissingDependency",
            f"boto3 is required: {error}",
            sdk.upgrade_hint(botocore),
        ) from None
    return boto3


def sdk_version_warnings() -> list[str]:
    """amazon.aws's start-up check for the module and the lookup: boto3 and botocore
    older than the supported minimum are warned about (a run that needs a newer API is
    refused when its client is made). Raises AwsError if boto3 cannot be imported."""
    boto3 = import_boto3()
    return sdk.version_warnings(botocore.__version__, boto3.__version__)


def _require_botocore() -> None:
    if not HAS_BOTOCORE:
        raise AwsError(
            "MissingDependency",
            f"botocore is required: {BOTOCORE_IMPORT_ERROR}",
            f"install botocore >= {sdk.MINIMUM_BOTOCORE_VERSION} "
            f"and boto3 >= {sdk.MINIMUM_BOTO3_VERSION}",
        )


def resolve_queue_url(sqs: Any, queue: str) -> str:
    """Accept a queue name, URL or ARN and return its URL (checking it exists)."""
    if not queue:
        raise AwsError("InvalidParameterValue", "queue must not be empty", "", "GetQueueUrl")
    try:
        if queue.startswith(("https://", "http://")):
            sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
            return queue
        if queue.startswith("arn:"):
            parts = queue.split(":")
            if len(parts) != 6 or parts[2] != "sqs":
                raise AwsError(
                    "InvalidParameterValue",
                    f"not an SQS queue ARN: {queue}",
                    "expected arn:aws:sqs:REGION:ACCOUNT:NAME",
                    "GetQueueUrl",
                )
            response = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])
        else:
            response = sqs.get_queue_url(QueueName=queue)
    except AwsError:
        raise
    except Exception as error:  # botocore raises many unrelated classes
        # A URL is checked with GetQueueAttributes: name that call, not GetQueueUrl.
        by_url = queue.startswith(("https://", "http://"))
        action = "GetQueueAttributes" if by_url else "GetQueueUrl"
        raise _queue_error(error, queue, action) from None
    return str(response["QueueUrl"])


def _queue_error(error: BaseException, queue: str, action: str = "GetQueueUrl") -> AwsError:
    translated = aws_error(error, action)
    if translated.code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
        translated = AwsError(
            translated.code,
            f"queue {queue!r} does not exist",
            translated.hint,
            translated.action,
        )
    return translated


def queue_depth(sqs: Any, queue_url: str) -> dict[str, int]:
    """Visible and in-flight message counts (approximate, as SQS reports them)."""
    try:
        response = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
    except Exception as error:  # botocore raises many unrelated classes
        raise aws_error(error, "GetQueueAttributes") from None
    attributes = response.get("Attributes", {})
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def arn_region(arn: str) -> Optional[str]:
    """The region an ARN names; None when it is no ARN or names none (global resources)."""
    parts = arn.split(":")
    return parts[3] or None if arn.startswith("arn:") and len(parts) > 3 else None


def bus_name(bus: str) -> str:
    """PutEvents and DescribeEventBus take a name or an ARN; reports use the name."""
    if bus.startswith("arn:") and ":event-bus/" in bus:
        return bus.split(":event-bus/", 1)[1]
    return bus
