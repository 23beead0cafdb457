"""The AWS clients the pollers share, and delivery to on-failure destinations (SQS and SNS)."""

from __future__ import annotations

import logging
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

        self.streams = make("dynamodbstreams")
        self.lambda_ = make("lambda")
        self._sqs = make("sqs")
        self._sns = make("sns")
        self._queue_urls: dict[str, str] = {}

    def send_to_destination(self, arn: str, body: str) -> None:
        service = arn.split(":")[2]
        if service == "sqs":
            url = self._queue_urls.get(arn)
            if url is None:
                _, _, _, _, account, name = arn.split(":", 5)
                url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
                self._queue_urls[arn] = url
            self._sqs.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self._sns.publish(TopicArn=arn, Message=body)
        else:
            log.error("on-failure destination %s is not supported here (SQS and SNS are)", arn)
