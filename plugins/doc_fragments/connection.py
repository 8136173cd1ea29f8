# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of the module: the names, aliases and environment variables of
    # amazon.aws 10 (doc_fragments/common.py and region.py), from module_utils/connection.py.
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - The E(AWS_ACCESS_KEY_ID) or E(AWS_ACCESS_KEY) environment variables may also be used, in decreasing order of
        preference.
      - Mutually exclusive with O(profile), also when the key comes from the environment; set it to an empty string
        to use a profile while the environment holds keys.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key.
      - The E(AWS_SECRET_ACCESS_KEY) or E(AWS_SECRET_KEY) environment variables may also be used, in decreasing order
        of preference.
      - Mutually exclusive with O(profile).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS STS session token for use with temporary credentials.
      - The E(AWS_SESSION_TOKEN) environment variable may also be used, then E(AWS_SECURITY_TOKEN), which is how
        AWX injects the token of an Amazon Web Services credential (amazon.aws 10 no longer reads it).
      - Mutually exclusive with O(profile).
    type: str
    aliases: [aws_session_token]
  profile:
    description:
      - A named profile of the AWS shared config and credentials files.
      - The E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE) environment variables may also be used.
      - Mutually exclusive with O(access_key), O(secret_key) and O(session_token), wherever they come from.
    type: str
    aliases: [aws_profile]
  region:
    description:
      - The AWS region of the queue and the event buses.
      - The E(AWS_REGION) or E(AWS_DEFAULT_REGION) environment variables may also be used, then the profile's
        region.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - URL to send the AWS calls to instead of the default AWS endpoints (a local emulator, a VPC endpoint).
      - The E(AWS_URL) environment variable may also be used.
    type: str
    aliases: [aws_endpoint_url]
  aws_ca_bundle:
    description:
      - The location of a CA bundle to use when validating TLS certificates.
      - The E(AWS_CA_BUNDLE) environment variable may also be used.
      - Not used when O(validate_certs=false).
    type: path
  validate_certs:
    description:
      - When set to V(false), TLS certificates are not validated for the calls to AWS.
      - Setting O(validate_certs=false) is strongly discouraged; consider O(aws_ca_bundle) instead.
    type: bool
    default: true
  aws_config:
    description:
      - Extra botocore client configuration, as keyword arguments of C(botocore.config.Config); they win over the
        module's own (retries, timeouts, connection pool).
    type: dict
  debug_botocore_endpoint_logs:
    description:
      - Add C(resource_actions) to the result, the distinct C(service:Operation) API calls the task made, as
        amazon.aws modules do (for its C(aws_resource_action) callback and for writing least-privilege policies).
      - The E(ANSIBLE_DEBUG_BOTOCORE_LOGS) environment variable may also be used.
    type: bool
    default: false
notes:
  - The connection options are those of amazon.aws 10 (names, aliases, environment variables and the rule that a
    profile and keys together are an error). The module and the M(redrive.eventbridge.dlq_messages) lookup resolve
    them with the same code.
  - The environment variables and the AWS config files are read on the host the module runs on.
requirements:
  - python >= 3.9
  - boto3 >= 1.26.31
  - botocore >= 1.29.31
"""

    # The same options for lookup plugins, which read environment variables
    # through Ansible's configuration system (amazon.aws offers
    # debug_botocore_endpoint_logs to modules only).
    PLUGINS = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - Mutually exclusive with O(profile), also when the key comes from the environment; pass an empty string to use
        a profile while the environment holds keys.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
    env:
      - name: AWS_ACCESS_KEY_ID
      - name: AWS_ACCESS_KEY
  secret_key:
    description:
      - AWS secret access key.
      - Mutually exclusive with O(profile).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
    env:
      - name: AWS_SECRET_ACCESS_KEY
      - name: AWS_SECRET_KEY
  session_token:
    description:
      - AWS STS session token for use with temporary credentials.
      - E(AWS_SECURITY_TOKEN) is read after E(AWS_SESSION_TOKEN) because AWX injects the token of an Amazon Web
        Services credential there (amazon.aws 10 no longer reads it).
      - Mutually exclusive with O(profile).
    type: str
    aliases: [aws_session_token]
    env:
      - name: AWS_SESSION_TOKEN
      - name: AWS_SECURITY_TOKEN
  profile:
    description:
      - A named profile of the AWS shared config and credentials files.
      - Mutually exclusive with O(access_key), O(secret_key) and O(session_token), wherever they come from.
    type: str
    aliases: [aws_profile]
    env:
      - name: AWS_PROFILE
      - name: AWS_DEFAULT_PROFILE
  region:
    description:
      - The AWS region of the queues; without it, the profile's region.
    type: str
    aliases: [aws_region]
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
  endpoint_url:
    description: URL to send the AWS calls to instead of the default AWS endpoints (a local emulator, a VPC endpoint).
    type: str
    aliases: [aws_endpoint_url]
    env:
      - name: AWS_URL
  validate_certs:
    description: When set to V(false), TLS certificates are not validated for the calls to AWS.
    type: bool
    default: true
  aws_ca_bundle:
    description: The location of a CA bundle to use when validating TLS certificates (not used when O(validate_certs=false)).
    type: path
    env:
      - name: AWS_CA_BUNDLE
  aws_config:
    description: Extra botocore client configuration, as keyword arguments of C(botocore.config.Config).
    type: dict
requirements:
  - python >= 3.9
  - boto3 >= 1.26.31
  - botocore >= 1.29.31
"""
