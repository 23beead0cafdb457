output "bucket_name" {
  description = "Audit bucket name."
  value       = module.bucket.bucket_name
}

output "bucket_arn" {
  description = "Audit bucket ARN."
  value       = module.bucket.arn
}

output "prefix" {
  description = "Key prefix of delivered audit objects (Firehose appends YYYY/MM/DD/HH/)."
  value       = local.prefix
}

output "delivery_stream_name" {
  description = "Firehose delivery stream name."
  value       = aws_kinesis_firehose_delivery_stream.this.name
}

output "delivery_stream_arn" {
  description = "Firehose delivery stream ARN."
  value       = aws_kinesis_firehose_delivery_stream.this.arn
}

output "firehose_role_arn" {
  description = "Role Firehose writes the audit log with: the only principal the audit bucket accepts objects from."
  value       = aws_iam_role.firehose.arn
}

output "failure_bucket_name" {
  description = "Bucket of the stream mapping's on-failure records (each holds the whole failed batch)."
  value       = module.failure_bucket.bucket_name
}

output "failure_bucket_arn" {
  description = "ARN of the failure bucket (the mapping's on-failure destination; s3:ListBucket)."
  value       = module.failure_bucket.arn
}

output "failure_records_arn" {
  description = "ARN pattern of the on-failure objects Lambda writes (aws/lambda/...; s3:PutObject)."
  value       = "${module.failure_bucket.arn}/${local.failure_prefix}*"
}
