output "name" {
  description = "Dashboard name."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "body" {
  description = "The dashboard body (JSON): tests check that every alarm, route and function is on it."
  value       = aws_cloudwatch_dashboard.this.dashboard_body
}

output "url" {
  description = "Console URL of the dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}
