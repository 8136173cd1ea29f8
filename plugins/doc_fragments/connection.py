# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of the module (same names and aliases as amazon.aws).
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - Falls back to E(AWS_ACCESS_KEY_ID), E(AWS_ACCESS_KEY) or E(EC2_ACCESS_KEY).
      - Mutually exclusive with O(profile).
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
  secret_key:
    description:
      - AWS secret access key.
      - Falls back to E(AWS_SECRET_ACCESS_KEY), E(AWS_SECRET_KEY) or E(EC2_SECRET_KEY).
      - Mutually exclusive with O(profile).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
  session_token:
    description:
      - AWS session token for temporary credentials.
      - Falls back to E(AWS_SESSION_TOKEN), E(AWS_SECURITY_TOKEN) (as AWX injects it) or E(EC2_SECURITY_TOKEN).
    type: str
    aliases: [aws_session_token, security_token, aws_security_token, access_token]
  profile:
    description:
      - Named profile from the AWS shared config and credentials files.
      - Falls back to E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE).
    type: str
    aliases: [aws_profile]
  region:
    description:
      - AWS region of the queue and the event buses.
      - Falls back to E(AWS_REGION), E(AWS_DEFAULT_REGION) or E(EC2_REGION).
    type: str
    aliases: [aws_region, ec2_region]
  endpoint_url:
    description:
      - URL to send the SQS and EventBridge calls to instead of AWS (for a local emulator or a VPC endpoint).
      - Falls back to E(AWS_URL) or E(EC2_URL).
    type: str
    aliases: [aws_endpoint_url, ec2_url]
  validate_certs:
    description:
      - Whether to verify TLS certificates.
    type: bool
    default: true
  aws_ca_bundle:
    description:
      - CA bundle to verify TLS certificates with. Falls back to E(AWS_CA_BUNDLE).
    type: path
  aws_config:
    description:
      - Extra botocore client configuration, as keyword arguments of C(botocore.config.Config).
    type: dict
requirements:
  - python >= 3.9
  - boto3 >= 1.28
  - botocore >= 1.31
"""

    # The same options for lookup plugins, which read environment variables
    # through Ansible's configuration system.
    PLUGINS = r"""
options:
  access_key:
    description: AWS access key ID.
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
    env:
      - name: AWS_ACCESS_KEY_ID
      - name: AWS_ACCESS_KEY
      - name: EC2_ACCESS_KEY
  secret_key:
    description: AWS secret access key.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
    env:
      - name: AWS_SECRET_ACCESS_KEY
      - name: AWS_SECRET_KEY
      - name: EC2_SECRET_KEY
  session_token:
    description: AWS session token for temporary credentials.
    type: str
    aliases: [aws_session_token, security_token, aws_security_token, access_token]
    env:
      - name: AWS_SESSION_TOKEN
      - name: AWS_SECURITY_TOKEN
      - name: EC2_SECURITY_TOKEN
  profile:
    description: Named profile from the AWS shared config and credentials files.
    type: str
    aliases: [aws_profile]
    env:
      - name: AWS_PROFILE
      - name: AWS_DEFAULT_PROFILE
  region:
    description: AWS region of the queue.
    type: str
    aliases: [aws_region, ec2_region]
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
      - name: EC2_REGION
  endpoint_url:
    description: URL to send the SQS calls to instead of AWS (for a local emulator or a VPC endpoint).
    type: str
    aliases: [aws_endpoint_url, ec2_url]
    env:
      - name: AWS_URL
      - name: EC2_URL
  validate_certs:
    description: Whether to verify TLS certificates.
    type: bool
    default: true
  aws_ca_bundle:
    description: CA bundle to verify TLS certificates with.
    type: path
    env:
      - name: AWS_CA_BUNDLE
  aws_config:
    description: Extra botocore client configuration, as keyword arguments of C(botocore.config.Config).
    type: dict
requirements:
  - python >= 3.9
  - boto3 >= 1.28
  - botocore >= 1.31
"""
