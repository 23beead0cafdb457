"""The AWS clients the pollers share, and delivery to on-failure destinations (SQS, SNS and S3).

Lambda writes on-failure records with the function's execution role; so does this: the poller
assumes the role (moto's STS) and writes with its credentials, so that a bucket policy that admits
only that role (modules/audit) admits the poller's writes and nothing else's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import boto3
from botocore.config import Config

log = logging.getLogger("embedded.streams")


class Clients:
    """boto3 clients at the moto endpoint, shared by the pollers (boto3 clients are thread-safe)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        def make(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id="embedded",
                aws_secret_access_key="embedded",  # noqa: S106 - moto accepts anything
                config=Config(retries={"mode": "standard"}, max_pool_connections=20),
            )

        self._endpoint_url, self._region = endpoint_url, region
        self.streams = make("dynamodbstreams")
        self.lambda_ = make("lambda")
        self._sqs = make("sqs")
        self.sqs = self._sqs
        self._sns = make("sns")
        self._sts = make("sts")
        self._queue_urls: dict[str, str] = {}
        self._role_clients: dict[str, tuple[float, Any]] = {}  # role ARN -> (expiry, s3 client)
        self._lock = threading.Lock()

    def send_to_destination(
        self,
        arn: str,
        message: dict[str, Any],
        *,
        records: list[dict[str, Any]],
        mapping_uuid: str,
        shard_id: str,
        function_arn: str,
    ) -> None:
        """Deliver an on-failure record; raises when the destination refuses it."""
        from embedded_stack.event_sources.records import s3_failure_key, s3_failure_record

        service = arn.split(":")[2]
        body = json.dumps(message)
        if service == "s3":
            bucket = arn.split(":::", 1)[1]
            record = s3_failure_record(message, records)
            self._s3_as(function_arn).put_object(
                Bucket=bucket, Key=s3_failure_key(mapping_uuid, shard_id), Body=json.dumps(record).encode()
            )
        elif service == "sqs":
            url = self._queue_urls.get(arn)
            if url is None:
                _, _, _, _, account, name = arn.split(":", 5)
                url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
                self._queue_urls[arn] = url
            self._sqs.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self._sns.publish(TopicArn=arn, Message=body)
        else:
            raise ValueError(f"on-failure destination {arn} is not supported (SQS, SNS and S3 are)")

    def _s3_as(self, function_arn: str) -> Any:
        """An S3 client with the function's execution role's credentials (cached until near expiry)."""
        role = self.lambda_.get_function_configuration(FunctionName=function_arn)["Role"]
        with self._lock:
            expiry, client = self._role_clients.get(role, (0.0, None))
            if client is not None and time.time() < expiry - 300:
                return client
        credentials = self._sts.assume_role(RoleArn=role, RoleSessionName="lambda-on-failure")["Credentials"]
        client = boto3.client(
            "s3",
            endpoint_url=self._endpoint_url,
            region_name=self._region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=Config(retries={"mode": "standard"}),
        )
        with self._lock:
            self._role_clients[role] = (credentials["Expiration"].timestamp(), client)
        return client
