output "name" {
  description = "REST API name (the ApiName dimension of its CloudWatch metrics)."
  value       = aws_api_gateway_rest_api.this.name
}

output "rest_api_id" {
  description = "REST API id."
  value       = aws_api_gateway_rest_api.this.id
}

output "execution_arn" {
  description = "Execution ARN of the API (prefix of every invoke permission)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "stage_name" {
  description = "Deployed stage name."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "Stage base URL; routes are appended (e.g. <invoke_url>/items)."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "custom_domain_target" {
  description = "Regional domain name and hosted zone id to alias the custom domain to (null without one)."
  value = try({
    regional_domain_name = aws_api_gateway_domain_name.this[0].regional_domain_name
    regional_zone_id     = aws_api_gateway_domain_name.this[0].regional_zone_id
  }, null)
}

output "api_key_ids" {
  description = "API key id of each partner (the partner's tenant id in the table)."
  value       = { for p, k in aws_api_gateway_api_key.this : p => k.id }
}

output "api_key_values" {
  description = "API key value of each partner."
  value       = { for p, k in aws_api_gateway_api_key.this : p => k.value }
  sensitive   = true
}

output "usage_plan_ids" {
  description = "Usage plan id of each tier."
  value       = { for t, u in aws_api_gateway_usage_plan.this : t => u.id }
}
