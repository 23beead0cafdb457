output "name" {
  description = "Secret name."
  value       = aws_secretsmanager_secret.this.name
}

output "arn" {
  description = "Secret ARN (the functions' CURSOR_SECRET_ID; scripts/cursor_key.py takes it as --secret-id)."
  value       = aws_secretsmanager_secret.this.arn
}
