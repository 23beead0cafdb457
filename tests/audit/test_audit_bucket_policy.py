"""The audit bucket's TLS-only policy must not hide the audit log on the embedded stack's moto."""

from __future__ import annotations

import json

import boto3
from audit_helpers import REGION
from moto import mock_aws

from embedded_stack.moto_server import patches as moto_patches


def test_tls_only_deny_does_not_block_reads_without_a_transport_context() -> None:
    moto_patches._patch_policy_conditions()
    moto_patches._patch_policy_conditions()  # once only
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="audit")
        s3.put_object(Bucket="audit", Key="audit/x", Body=b"line\n")
        s3.put_object(Bucket="audit", Key="secret/y", Body=b"no")
        deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*"}
        s3.put_bucket_policy(
            Bucket="audit",
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            **deny,
                            "Resource": ["arn:aws:s3:::audit", "arn:aws:s3:::audit/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                        {**deny, "Resource": "arn:aws:s3:::audit/secret/*"},
                    ],
                }
            ),
        )
        assert s3.get_object(Bucket="audit", Key="audit/x")["Body"].read() == b"line\n"
        try:
            s3.get_object(Bucket="audit", Key="secret/y")
            raise AssertionError("an unconditional Deny must still deny")
        except s3.exceptions.ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
