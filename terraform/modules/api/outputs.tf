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

output "api_keys" {
  description = "Each API key by \"partner/key\": partner, name, scope, usage_plan (tier), api_key_id and usage_plan_id (never the value: api_key_values)."
  value = {
    for k, key in local.api_keys : k => merge(key, {
      api_key_id    = aws_api_gateway_api_key.this[k].id
      usage_plan_id = aws_api_gateway_usage_plan.this[key.usage_plan].id
    })
  }
}

output "api_key_values" {
  description = "Value of each API key by \"partner/key\"."
  value       = { for k, key in aws_api_gateway_api_key.this : k => key.value }
  sensitive   = true
}

output "usage_plan_ids" {
  description = "Usage plan id of each tier."
  value       = { for t, u in aws_api_gateway_usage_plan.this : t => u.id }
}

output "usage_plan_arns" {
  description = "ARN of each usage plan and of its usage (/usageplans/<id> and /usageplans/<id>/usage): what GetUsagePlan and GetUsage are authorized on."
  value = flatten([
    for u in aws_api_gateway_usage_plan.this : [u.arn, "${u.arn}/usage"]
  ])
}
