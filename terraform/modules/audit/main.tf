data "aws_caller_identity" "this" {}
data "aws_region" "this" {}
data "aws_partition" "this" {}

locals {
  account_id  = data.aws_caller_identity.this.account_id
  region      = data.aws_region.this.name
  bucket_name = "${var.name_prefix}-audit-${local.account_id}-${local.region}"
  # No !{...} expressions: Firehose then appends YYYY/MM/DD/HH/ itself (on AWS and moto alike).
  prefix       = "audit/stage=${var.stage_name}/"
  error_prefix = "audit-errors/stage=${var.stage_name}/"
  # Known before the queue exists, so IAM policies naming it need not wait for SQS's ~25 s attribute
  # settling; the queue's postcondition proves it is the queue's real ARN.
  dlq_name = "${var.name_prefix}-audit-dlq"
  dlq_arn  = "arn:${data.aws_partition.this.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
}

module "bucket" {
  source = "../bucket"

  name          = local.bucket_name
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy
  object_lock   = var.object_lock
  lifecycle_rules = var.lifecycle_rules == null ? null : {
    id                           = "audit-log"
    prefix                       = "audit"
    transition_ia_days           = var.lifecycle_rules.transition_ia_days
    expiration_days              = var.lifecycle_rules.expiration_days
    noncurrent_expiration_days   = var.lifecycle_rules.noncurrent_expiration_days
    abort_incomplete_upload_days = 7
  }
}

resource "aws_cloudwatch_log_group" "firehose" {
  name              = "/aws/kinesisfirehose/${var.name_prefix}-audit"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_stream" "firehose" {
  name           = "S3Delivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

resource "aws_iam_role" "firehose" {
  name                 = "${var.name_prefix}-audit-firehose"
  description          = "Lets the audit delivery stream write to the audit bucket"
  permissions_boundary = var.permissions_boundary
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "firehose.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "firehose" {
  name = "${var.name_prefix}-audit-firehose"
  role = aws_iam_role.firehose.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Bucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
        Resource = module.bucket.arn
      },
      {
        Sid      = "Objects"
        Effect   = "Allow"
        Action   = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
        Resource = ["${module.bucket.arn}/${local.prefix}*", "${module.bucket.arn}/${local.error_prefix}*"]
      },
      {
        Sid       = "KmsViaS3"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = ["s3.${local.region}.amazonaws.com", "firehose.${local.region}.amazonaws.com"] } }
      },
      {
        Sid      = "ErrorLogs"
        Effect   = "Allow"
        Action   = ["logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.firehose.arn}:*"
      },
    ]
  })
}

resource "aws_kinesis_firehose_delivery_stream" "this" {
  name        = "${var.name_prefix}-audit"
  destination = "extended_s3"

  server_side_encryption {
    enabled  = true
    key_type = "CUSTOMER_MANAGED_CMK"
    key_arn  = var.kms_key_arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose.arn
    bucket_arn          = module.bucket.arn
    prefix              = local.prefix
    error_output_prefix = local.error_prefix
    buffering_size      = var.buffering_size_mb
    buffering_interval  = var.buffering_interval_seconds
    compression_format  = var.compression
    kms_key_arn         = var.kms_key_arn

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose.name
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}

# Where the stream mapping sends batches that kept failing (shard and sequence range, for replay).
resource "aws_sqs_queue" "dlq" {
  name                      = local.dlq_name
  message_retention_seconds = var.dlq_retention_seconds
  kms_master_key_id         = var.kms_key_arn

  lifecycle {
    postcondition {
      condition     = self.arn == local.dlq_arn
      error_message = "The audit DLQ's ARN is ${self.arn}, not the ${local.dlq_arn} that IAM policies were given."
    }
  }
}
