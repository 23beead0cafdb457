output "arn" {
  description = "Layer version ARN, or null when disabled."
  value       = try(aws_lambda_layer_version.this[0].arn, null)
}

output "arns" {
  description = "Layer version ARNs to attach to functions (empty when disabled)."
  value       = aws_lambda_layer_version.this[*].arn
}
