output "stage" {
  description = "Stage (= workspace) this state belongs to."
  value       = local.stage_name
}

output "version" {
  description = "Release of the code and infrastructure this stage runs (pyproject.toml; changes: CHANGELOG.md)."
  value       = local.version
}

output "region" {
  description = "AWS region of the stage."
  value       = local.stage.region
}

output "api_url" {
  description = "Stage base URL; routes are appended, e.g. <api_url>/items."
  value       = module.api.invoke_url
}

output "rest_api_id" {
  description = "REST API id."
  value       = module.api.rest_api_id
}

output "api_stage_name" {
  description = "API Gateway stage name."
  value       = module.api.stage_name
}

output "custom_domain_target" {
  description = "Regional target of the custom domain (null without one)."
  value       = module.api.custom_domain_target
}

output "table_name" {
  description = "DynamoDB table name."
  value       = module.table.name
}

output "table_stream_arn" {
  description = "ARN of the table's stream."
  value       = module.table.stream_arn
}

output "cursor_secret_parameter" {
  description = "SSM parameter name of the cursor HMAC key (the value is never an output)."
  value       = module.cursor_secret.name
}

output "kms_key_arn" {
  description = "The stage's customer-managed KMS key."
  value       = module.kms.key_arn
}

output "audit_bucket" {
  description = "Audit log bucket."
  value       = module.audit.bucket_name
}

output "audit_prefix" {
  description = "Key prefix of audit objects (Firehose appends YYYY/MM/DD/HH/)."
  value       = module.audit.prefix
}

output "firehose_name" {
  description = "Audit Firehose delivery stream name."
  value       = module.audit.delivery_stream_name
}

output "dlq_urls" {
  description = "URL of every dead-letter queue, by queue name."
  value       = local.dlq_urls
}

output "alarm_topic_arn" {
  description = "SNS topic of all alarms."
  value       = module.alarms.topic_arn
}

output "functions" {
  description = "Every function by manifest name: function_name, arn, version, qualified_arn, alias_name, alias_arn, alias_invoke_arn, role_name, log_group."
  value       = module.functions.functions
}

output "partners" {
  description = "Each partner: api_key_id (its tenant id), usage_plan, throttle (rate_limit, burst_limit), quota (limit, period). Key values: api_key_values."
  value = {
    for p, tier in local.stage.partners : p => {
      api_key_id    = module.api.api_key_ids[p]
      usage_plan    = tier
      usage_plan_id = module.api.usage_plan_ids[tier]
      throttle      = local.stage.usage_plans[tier].throttle
      quota         = local.stage.usage_plans[tier].quota
    }
  }
}

output "api_key_values" {
  description = "API key value of each partner (sensitive: read with terraform output -json api_key_values)."
  value       = module.api.api_key_values
  sensitive   = true
}

output "alarm_names" {
  description = "Every alarm of the stage (each has a runbook entry in docs/operations.md#runbook)."
  value       = local.alarm_names
}

output "dashboard_url" {
  description = "Console URL of the stage's CloudWatch dashboard."
  value       = module.dashboard.url
}
