data "aws_caller_identity" "this" {}
data "aws_region" "this" {}
data "aws_partition" "this" {}

locals {
  account_id = data.aws_caller_identity.this.account_id
  region     = data.aws_region.this.name
  partition  = data.aws_partition.this.partition
}

# One customer-managed key for the whole stage: table SSE, SQS, logs, S3, Firehose, SNS and SSM.
# IAM policies grant its use per caller (conditioned on kms:ViaService); the key policy lets the
# account's IAM decide, and lets the two services that encrypt on their own behalf use it, each held
# by conditions to this account's resources (tests/terraform/test_audit_plan.py checks every one).
resource "aws_kms_key" "this" {
  description             = "${var.name} data key (table, queues, logs, audit bucket, stream, topic, parameters)"
  deletion_window_in_days = var.deletion_window_in_days
  enable_key_rotation     = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*" }
        }
      },
      # CloudWatch publishes alarm notifications to the encrypted alarm topic. Held to this account's
      # alarms of this stage (aws:SourceAccount, aws:SourceArn: the confused-deputy guard) and to the
      # stage's topics (SNS's encryption context). No other service principal is admitted: EventBridge
      # delivers schedules straight to Lambda and touches no data this key protects.
      {
        Sid       = "AlarmsPublishToEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*" }
          StringLike   = { "kms:EncryptionContext:aws:sns:topicArn" = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name}-*" }
        }
      },
      # The stage's topics (the item events topic) deliver to queues encrypted with this key: SNS
      # needs a data key for each message it sends. Held to this account's topics of this stage.
      {
        Sid       = "TopicsDeliverToEncryptedQueues"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name}-*" }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
