output "name" {
  description = "Table name."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "Table ARN."
  value       = aws_dynamodb_table.this.arn
}

output "stream_arn" {
  description = "ARN of the table's stream."
  value       = aws_dynamodb_table.this.stream_arn
}

output "index_arns" {
  description = "ARN of every GSI, by index name."
  value       = { for g in local.gsi_names : g => "${aws_dynamodb_table.this.arn}/index/${g}" }
}
