output "functions" {
  description = "Every function by manifest name: function_name, arn, version, qualified_arn, alias_arn, alias_invoke_arn, role_name, log_group, timeout (seconds)."
  value = {
    for k, f in aws_lambda_function.this : k => {
      timeout          = f.timeout
      function_name    = f.function_name
      arn              = f.arn
      version          = f.version
      qualified_arn    = f.qualified_arn
      alias_name       = aws_lambda_alias.live[k].name
      alias_arn        = aws_lambda_alias.live[k].arn
      alias_invoke_arn = aws_lambda_alias.live[k].invoke_arn
      role_name        = aws_iam_role.this[k].name
      log_group        = aws_cloudwatch_log_group.this[k].name
    }
  }
}

output "function_names" {
  description = "Names of every function."
  value       = [for f in aws_lambda_function.this : f.function_name]
}

output "routes" {
  description = "Route of every function that has one, by function name (method, path, request_model, api_key_required)."
  value = {
    for k, f in local.functions : k => {
      method           = upper(f.route.method)
      path             = f.route.path
      request_model    = try(f.route.request_model, null)
      api_key_required = try(f.route.api_key_required, true)
    } if f.route != null
  }
}

output "authorizer" {
  description = "The API's Lambda authorizer: the one function whose manifest has an authorizer block (function_name, alias_name, invoke_arn of its live alias, identity_source); null when none has."
  value = one([
    for k, f in local.functions : {
      function_name   = aws_lambda_function.this[k].function_name
      alias_name      = aws_lambda_alias.live[k].name
      invoke_arn      = aws_lambda_alias.live[k].invoke_arn
      identity_source = f.authorizer.identity_source
    } if f.authorizer != null
  ])
}

output "stream_function_names" {
  description = "Names of the functions fed by the table's stream."
  value       = [for k in keys(local.stream_functions) : aws_lambda_function.this[k].function_name]
}

output "dlq_urls" {
  description = "URL of each dead-letter queue (asynchronous functions' and queue consumers'), by queue name."
  value = merge(
    { for k, q in aws_sqs_queue.async_dlq : q.name => q.url },
    { for k, q in aws_sqs_queue.events_dlq : q.name => q.url },
  )
}

output "dlq_names" {
  description = "Names of every dead-letter queue (asynchronous functions' and queue consumers')."
  value       = concat([for q in aws_sqs_queue.async_dlq : q.name], [for q in aws_sqs_queue.events_dlq : q.name])
}

output "event_queues" {
  description = "Each queue consumer's queue, by manifest name: name, url, arn, dlq_name, dlq_url."
  value = {
    for k, q in aws_sqs_queue.events : k => {
      name     = q.name
      url      = q.url
      arn      = q.arn
      dlq_name = aws_sqs_queue.events_dlq[k].name
      dlq_url  = aws_sqs_queue.events_dlq[k].url
    }
  }
}

output "event_source_mapping_uuids" {
  description = "UUID of each stream mapping, by function name."
  value       = { for k, m in aws_lambda_event_source_mapping.dynamodb_stream : k => m.uuid }
}

output "role_arns" {
  description = "Execution role ARN of every function, by manifest name."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "schedule_rule_names" {
  description = "EventBridge rule of each scheduled function, by manifest name."
  value       = { for k, r in aws_cloudwatch_event_rule.schedule : k => r.name }
}

output "snap_start_function_names" {
  description = "Names of the functions whose published versions use SnapStart."
  value       = [for k, f in local.functions : aws_lambda_function.this[k].function_name if f.snap_start]
}

output "provisioned_aliases" {
  description = "Function name => alias of every function with provisioned concurrency (ProvisionedConcurrency* metrics carry Resource = <function>:<alias>)."
  value       = { for k, p in aws_lambda_provisioned_concurrency_config.live : aws_lambda_function.this[k].function_name => p.qualifier }
}
