output "name" {
  description = "Parameter name (the functions' CURSOR_SECRET_PARAMETER)."
  value       = aws_ssm_parameter.this.name
}

output "arn" {
  description = "Parameter ARN."
  value       = aws_ssm_parameter.this.arn
}
