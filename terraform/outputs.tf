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

output "cursor_secret_id" {
  description = "ARN of the Secrets Manager secret holding the cursor HMAC key (values are never outputs): scripts/cursor_key.py rotates it."
  value       = module.cursor_secret.arn
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

output "audit_failure_bucket" {
  description = "Bucket of the audit stream mapping's on-failure records (whole failed batches; scripts/audit_replay.py replays them)."
  value       = module.audit.failure_bucket_name
}

output "dlq_urls" {
  description = "URL of every asynchronous function's dead-letter queue, by queue name."
  value       = local.dlq_urls
}

output "alarm_topic_arn" {
  description = "SNS topic of all alarms."
  value       = module.alarms.topic_arn
}

output "functions" {
  description = "Every function by manifest name: function_name, arn, version, qualified_arn, alias_name, alias_arn, alias_invoke_arn, role_name, log_group, timeout (seconds)."
  value       = module.functions.functions
}

output "partners" {
  description = "Each partner (the partner id is its tenant): usage_plan, usage_plan_id, throttle (rate_limit, burst_limit), quota (limit, period), keys (by name: api_key_id, scope) and api_key_id, the id of its first read-write key by name (null without one). Key values: api_key_values."
  value = {
    for p, settings in local.stage.partners : p => {
      api_key_id    = try(module.api.api_keys["${p}/${[for name, scope in settings.keys : name if scope == "read-write"][0]}"].api_key_id, null)
      usage_plan    = settings.usage_plan
      usage_plan_id = module.api.usage_plan_ids[settings.usage_plan]
      throttle      = local.stage.usage_plans[settings.usage_plan].throttle
      quota         = local.stage.usage_plans[settings.usage_plan].quota
      keys = {
        for name, scope in settings.keys : name => {
          api_key_id = module.api.api_keys["${p}/${name}"].api_key_id
          scope      = scope
        }
      }
    }
  }
}

output "api_key_values" {
  description = "Value of each API key by partner, then key name (sensitive: read with terraform output -json api_key_values)."
  value = {
    for p, settings in local.stage.partners : p => {
      for name, _ in settings.keys : name => module.api.api_key_values["${p}/${name}"]
    }
  }
  sensitive = true
}

output "item_events_topic_arn" {
  description = "ARN of the item events SNS FIFO topic (every item change, one message group per partner's item)."
  value       = module.events.topic_arn
}

output "event_queues" {
  description = "Each queue consumer's queue and dead-letter queue (name, url, arn, dlq_name, dlq_url), by function: scripts/webhook_replay.py reads them."
  value       = module.functions.event_queues
}

output "artifacts" {
  description = "Where Lambda code comes from: bucket (the artifacts bucket) and layer_arn (null when the layer is bundled). `make run`'s hot reload uploads there as a deploy does."
  value = {
    bucket    = module.artifacts.bucket_name
    layer_arn = module.layer.arn
  }
}

output "alarm_names" {
  description = "Every alarm of the stage (each has a runbook entry in docs/operations.md#runbook)."
  value       = local.alarm_names
}

output "dashboard_url" {
  description = "Console URL of the stage's CloudWatch dashboard."
  value       = module.dashboard.url
}
