output "id" {
  description = "Bucket name (the id other S3 resources take)."
  value       = aws_s3_bucket.this.id
}

output "bucket_name" {
  description = "Bucket name."
  value       = aws_s3_bucket.this.bucket
}

output "arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}
