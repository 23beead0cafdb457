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

output "dlq_name" {
  description = "Audit dead-letter queue name."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "Audit dead-letter queue URL."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "Audit dead-letter queue ARN, once the queue exists (for what must wait for it: stream mapping destinations)."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_policy_arn" {
  description = "Audit dead-letter queue ARN, known before the queue is created (for IAM policies; checked against the queue)."
  value       = local.dlq_arn
}
