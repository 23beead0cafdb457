data "aws_caller_identity" "this" {}
data "aws_region" "this" {}

locals {
  account_id  = data.aws_caller_identity.this.account_id
  region      = data.aws_region.this.name
  bucket_name = "${var.name_prefix}-audit-${local.account_id}-${local.region}"
  # No !{...} expressions: Firehose then appends YYYY/MM/DD/HH/ itself (on AWS and moto alike).
  prefix       = "audit/stage=${var.stage_name}/"
  error_prefix = "audit-errors/stage=${var.stage_name}/"
  # Lambda names on-failure objects aws/lambda/<mapping uuid>/<shard>/YYYY/MM/DD/<time>-<uuid>; the
  # prefix cannot be configured. "fail", not "failures": S3 names stop at 63 characters.
  failure_bucket_name = "${var.name_prefix}-audit-fail-${local.account_id}-${local.region}"
  failure_prefix      = "aws/lambda/"
}

module "bucket" {
  source = "../bucket"

  name          = local.bucket_name
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy
  object_lock   = var.object_lock
  # Only Firehose writes the log: no other role of the account can add or overwrite an object.
  writer_role_arns = [aws_iam_role.firehose.arn]
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

# Where the stream mapping parks batches it gave up on: Lambda's on-failure record for an S3
# destination carries the whole batch (its "payload"), so scripts/audit_replay.py replays it without
# the stream (24 h retention) and without the table. A bucket of its own rather than a prefix of the
# audit bucket: replay deletes what it has replayed (versioning keeps it, noncurrent, for the lifecycle's
# days), and no tool should ever hold a delete right on the audit log; the log's Object Lock, its
# lifecycle and its Athena table stay about the log alone. Only the stream consumers' roles write here.
module "failure_bucket" {
  source = "../bucket"

  name             = local.failure_bucket_name
  kms_key_arn      = var.kms_key_arn
  force_destroy    = var.force_destroy
  writer_role_arns = var.failure_writer_role_arns
  # Unreplayed records never expire (they are the only copy once the stream has trimmed them);
  # replayed (deleted, so noncurrent) ones do.
  lifecycle_rules = var.lifecycle_rules == null ? null : {
    id                           = "replayed-failure-records"
    prefix                       = local.failure_prefix
    noncurrent_expiration_days   = var.lifecycle_rules.noncurrent_expiration_days
    abort_incomplete_upload_days = 7
  }
}
