"""The SDK checks: amazon.aws's version warning, and the feature check on client models."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import botocore
import pytest

from ansible_collections.redrive.eventbridge.plugins.module_utils import aws, sdk
from tests.support.old_models import session_with, without

V2_BOTOCORE = "/usr/lib/python3/dist-packages/awscli/botocore/__init__.py"


def old_sns_session(tmp_path: Path):
    return session_with(without(tmp_path / "models", "sns", operations=["PublishBatch"]))


def clients_of(session):
    return aws.session_clients(
        session.create_client, region="us-east-1", endpoint_url="http://127.0.0.1:9"
    )


def test_current_botocore_has_every_feature() -> None:
    session = botocore.session.Session()
    for service in sdk.FEATURES:
        model = session.get_service_model(service)
        assert sdk.missing_features(model, service) == [], service


def test_a_target_client_without_the_api_names_the_minimum(tmp_path: Path) -> None:
    clients = clients_of(old_sns_session(tmp_path))  # SQS and EventBridge are fine

    with pytest.raises(aws.AwsError) as raised:
        clients.client("sns", "eu-west-1")

    error = raised.value
    assert error.code == "MissingDependency"  # failures.classify: fatal, the run stops
    assert error.action == "CreateClient"
    assert f"botocore {botocore.__version__} has no sns PublishBatch (SNS targets)" in error.message
    assert error.hint == "install botocore >= 1.29.31 and boto3 >= 1.26.31"


def test_kinesis_put_records_needs_stream_arn(tmp_path: Path) -> None:
    data = without(tmp_path / "models", "kinesis", members=[("PutRecordsInput", "StreamARN")])
    clients = clients_of(session_with(data))

    with pytest.raises(aws.AwsError) as raised:
        clients.client("kinesis", "eu-west-1")

    assert "has no kinesis PutRecords StreamARN (Kinesis targets)" in raised.value.message


def test_a_missing_request_member_counts_as_missing(tmp_path: Path) -> None:
    data = without(
        tmp_path / "models", "events", members=[("PutEventsRequestEntry", "EventBusName")]
    )

    with pytest.raises(aws.AwsError) as raised:
        clients_of(session_with(data))

    assert "events PutEvents Entries.EventBusName" in raised.value.message


V1_BOTOCORE = "/venv/lib/python3.11/site-packages/awscli/botocore/__init__.py"


@pytest.mark.parametrize(
    ("cli", "path", "awscli_version", "botocore_version", "hint"),
    [
        ("v2", V2_BOTOCORE, "2.9.19", "2.0.0dev155", "install a newer AWS CLI v2"),
        # AWS CLI v1 carries its own botocore at the same place, numbered like PyPI's.
        (
            "v1",
            V1_BOTOCORE,
            "1.46.3",
            "1.43.62",
            "install a newer AWS CLI v1 (pip install --upgrade awscli)",
        ),
    ],
)
def test_inside_the_aws_cli_the_hint_is_that_cli(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: str,
    path: str,
    awscli_version: str,
    botocore_version: str,
    hint: str,
) -> None:
    monkeypatch.setattr(botocore, "__file__", path)
    monkeypatch.setattr(botocore, "__version__", botocore_version)
    monkeypatch.setitem(sys.modules, "awscli", SimpleNamespace(__version__=awscli_version))
    clients = clients_of(old_sns_session(tmp_path))

    with pytest.raises(aws.AwsError) as raised:
        clients.client("sns")

    assert f"the botocore inside AWS CLI {cli} ({botocore_version}) has no sns PublishBatch" in str(
        raised.value
    )
    assert raised.value.hint == hint


@pytest.mark.parametrize(
    ("path", "version", "cli"),
    [
        (V2_BOTOCORE, "2.0.0dev155", 2),
        (V1_BOTOCORE, "1.43.62", 1),
        ("/x/botocore/a.py", "1.44.5", None),
    ],
)
def test_without_awscli_loaded_the_copys_number_tells_the_cli(
    monkeypatch: pytest.MonkeyPatch, path: str, version: str, cli: int | None
) -> None:
    monkeypatch.delitem(sys.modules, "awscli", raising=False)
    assert sdk.bundling_cli(SimpleNamespace(__file__=path, __version__=version)) == cli


def test_old_versions_are_warned_about_like_amazon_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore, "__version__", "1.22.0")

    warnings = aws.sdk_version_warnings()

    assert warnings == [
        "botocore < 1.29.31 is not supported (botocore 1.22.0 is installed): some targets "
        "cannot be delivered to; install botocore >= 1.29.31"
    ]


def test_supported_versions_give_no_warning() -> None:
    assert aws.sdk_version_warnings() == []
    assert sdk.version_warnings("1.29.31", "1.26.31") == []
    assert sdk.version_warnings("1.29.100", "1.26.100") == []  # compared as numbers
    assert len(sdk.version_warnings("1.29.30", "1.26.30")) == 2


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("1.44.5", (1, 44, 5)), ("1.23.10", (1, 23, 10)), ("2.0.0dev155", (2, 0, 0)), ("dev", None)],
)
def test_parse_version(text: str, parsed: tuple[int, ...] | None) -> None:
    assert sdk.parse_version(text) == parsed


def test_the_minimum_is_stated_where_users_read_it() -> None:
    repo = Path(__file__).resolve().parents[2]
    pins = (f"botocore>={sdk.MINIMUM_BOTOCORE_VERSION}", f"boto3>={sdk.MINIMUM_BOTO3_VERSION}")
    pyproject = (repo / "pyproject.toml").read_text()
    for pin in pins:
        assert f'"{pin}"' in pyproject, pin
    fragment = (repo / "plugins/doc_fragments/connection.py").read_text()
    assert fragment.count(f"botocore >= {sdk.MINIMUM_BOTOCORE_VERSION}") == 2
    assert fragment.count(f"boto3 >= {sdk.MINIMUM_BOTO3_VERSION}") == 2
    for path in ("README.md", "meta/ee-requirements.txt", "meta/runtime.yml"):
        text = (repo / path).read_text()
        assert sdk.MINIMUM_BOTOCORE_VERSION in text, path
