# Each module's own logic with synthetic inputs and a mocked AWS provider: manifests -> functions,
# roles, routes, queues and stream mappings; stage tiers -> usage plans and keys; per-stage
# thresholds -> alarms. Run once, in the `local` workspace (tests/terraform/test_tftest.py).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"

  # Three shapes of manifest: behind the API, fed by the table's stream, invoked asynchronously.
  manifests = {
    get_item = {
      handler     = "handler.handler", runtime = "python3.12", timeout = 10, memory_size = 256
      route       = { method = "get", path = "/items/{id}" }
      environment = ["TABLE_NAME"]
      permissions = [{ actions = ["dynamodb:GetItem"], resource = "table" }]
    }
    audit_stream = {
      handler     = "handler.handler", runtime = "python3.12", timeout = 60, memory_size = 256
      environment = []
      permissions = [
        { actions = ["dynamodb:GetRecords", "dynamodb:DescribeStream"], resource = "table_stream" },
        { actions = ["sqs:SendMessage"], resource = "audit_dlq" },
      ]
      events = {
        dynamodb_stream = {
          batch_size              = 50, bisect_batch_on_function_error = true, maximum_retry_attempts = 5,
          function_response_types = ["ReportBatchItemFailures"], on_failure = "audit_dlq"
        }
      }
    }
    nightly = {
      handler     = "handler.handler", runtime = "python3.12", timeout = 30, memory_size = 128
      permissions = [{ actions = ["dynamodb:Query"], resource = "table_indexes" }]
    }
  }

  resource_arns = {
    table         = ["arn:aws:dynamodb:eu-west-1:123456789012:table/items-test-items"]
    table_indexes = ["arn:aws:dynamodb:eu-west-1:123456789012:table/items-test-items/index/GSI1"]
    table_stream  = ["arn:aws:dynamodb:eu-west-1:123456789012:table/items-test-items/stream/2026-01-01T00:00:00.000"]
    audit_dlq     = ["arn:aws:sqs:eu-west-1:123456789012:items-test-audit-dlq"]
  }
}

run "functions_follow_their_manifests" {
  # apply (mocked): role policies name the log groups' ARNs, known only after they exist.
  command = apply

  module {
    source = "./modules/functions"
  }

  # The DLQ's ARN as AWS would derive it: the role policy names it before the queue exists, and the
  # module's postcondition holds the two equal.
  override_resource {
    target = aws_sqs_queue.async_dlq
    values = { arn = "arn:aws:sqs:eu-west-1:123456789012:items-test-nightly-dlq" }
  }

  variables {
    name_prefix        = "items-test"
    artifacts          = { for k in keys(var.manifests) : k => { path = "versions.tf", bucket = "b", key = "${k}.zip", version_id = "1" } }
    destination_arns   = { audit_dlq = "arn:aws:sqs:eu-west-1:123456789012:items-test-audit-dlq" }
    environment_values = { TABLE_NAME = "items-test-items" }
    common_environment = { STAGE = "test" }
    concurrency = {
      defaults  = { reserved_concurrency = 5, provisioned_concurrency = 0 }
      overrides = { get_item = { provisioned_concurrency = 2, reserved_concurrency = 20 } }
    }
  }

  assert {
    condition = jsonencode(jsondecode(aws_iam_role_policy.this["get_item"].policy).Statement[0]) == jsonencode({
      Sid = "Manifest0", Effect = "Allow", Action = ["dynamodb:GetItem"], Resource = var.resource_arns.table
    })
    error_message = "get_item's role must allow exactly its manifest's action on the table: ${aws_iam_role_policy.this["get_item"].policy}"
  }
  assert {
    condition     = jsonencode([for s in jsondecode(aws_iam_role_policy.this["get_item"].policy).Statement : s.Sid]) == jsonencode(["Manifest0", "Logs", "XRay", "KmsViaServices"])
    error_message = "Beyond the manifest, a role gets only its logs, X-Ray and the stage key through its services."
  }
  assert {
    condition = jsonencode(one([for s in jsondecode(aws_iam_role_policy.this["nightly"].policy).Statement : s.Condition.StringEquals["kms:ViaService"] if s.Sid == "KmsViaServices"])) == jsonencode([
      "dynamodb.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com",
    ])
    error_message = "KMS use follows the services a function calls (and its DLQ's)."
  }
  assert {
    condition     = jsonencode(keys(output.routes)) == jsonencode(["get_item"]) && output.routes.get_item.method == "GET" && output.routes.get_item.api_key_required
    error_message = "Only routed manifests become routes (method upper-cased, API key required by default): ${jsonencode(output.routes)}"
  }
  assert {
    condition     = jsonencode([keys(aws_sqs_queue.async_dlq), keys(aws_lambda_function_event_invoke_config.this)]) == jsonencode([["nightly"], ["nightly"]])
    error_message = "Only asynchronously invoked functions get a DLQ and an event invoke config."
  }
  assert {
    condition = (
      jsonencode(keys(aws_lambda_event_source_mapping.dynamodb_stream)) == jsonencode(["audit_stream"])
      && aws_lambda_event_source_mapping.dynamodb_stream["audit_stream"].batch_size == 50
      && aws_lambda_event_source_mapping.dynamodb_stream["audit_stream"].bisect_batch_on_function_error
      && aws_lambda_event_source_mapping.dynamodb_stream["audit_stream"].maximum_retry_attempts == 5
      && one(one(aws_lambda_event_source_mapping.dynamodb_stream["audit_stream"].destination_config).on_failure).destination_arn == "arn:aws:sqs:eu-west-1:123456789012:items-test-audit-dlq"
    )
    error_message = "The stream mapping takes its settings from the manifest."
  }
  assert {
    condition     = jsonencode(keys(aws_lambda_provisioned_concurrency_config.live)) == jsonencode(["get_item"]) && aws_lambda_provisioned_concurrency_config.live["get_item"].provisioned_concurrent_executions == 2
    error_message = "Provisioned concurrency only where the stage asks for it, on the live alias."
  }
  assert {
    condition     = aws_lambda_function.this["get_item"].reserved_concurrent_executions == 20 && aws_lambda_function.this["nightly"].reserved_concurrent_executions == 5
    error_message = "Reserved concurrency: the override, else the stage default."
  }
  assert {
    condition     = jsonencode(one(aws_lambda_function.this["get_item"].environment).variables) == jsonencode({ STAGE = "test", TABLE_NAME = "items-test-items" })
    error_message = "A function's environment is the common one plus exactly the names its manifest lists."
  }
  assert {
    condition     = length(output.snap_start_function_names) == 0 && alltrue([for f in aws_lambda_function.this : length(f.snap_start) == 0])
    error_message = "SnapStart is off unless the stage turns it on."
  }
}

run "snapstart_follows_the_stage_for_functions_whose_manifest_declares_it" {
  command = plan

  module {
    source = "./modules/functions"
  }

  variables {
    name_prefix        = "items-test"
    manifests          = merge(var.manifests, { get_item = merge(var.manifests.get_item, { snap_start = true }), audit_stream = merge(var.manifests.audit_stream, { snap_start = true }) })
    artifacts          = { for k in keys(var.manifests) : k => { path = "versions.tf", bucket = "b", key = "${k}.zip", version_id = "1" } }
    destination_arns   = { audit_dlq = "arn:aws:sqs:eu-west-1:123456789012:items-test-audit-dlq" }
    environment_values = { TABLE_NAME = "items-test-items" }
    concurrency = {
      defaults  = { snap_start = true }
      overrides = { audit_stream = { snap_start = false } }
    }
  }

  assert {
    condition     = one(aws_lambda_function.this["get_item"].snap_start).apply_on == "PublishedVersions"
    error_message = "A function whose manifest declares snap_start gets SnapStart on its published versions when the stage turns it on."
  }
  assert {
    condition     = length(aws_lambda_function.this["nightly"].snap_start) == 0 && length(aws_lambda_function.this["audit_stream"].snap_start) == 0
    error_message = "No SnapStart where the manifest does not declare it (nightly) or the stage's override turns it off (audit_stream)."
  }
}

run "snapstart_with_provisioned_concurrency_is_refused" {
  command = plan

  module {
    source = "./modules/functions"
  }

  variables {
    name_prefix        = "items-test"
    manifests          = { get_item = merge(var.manifests.get_item, { snap_start = true }) }
    artifacts          = { get_item = { path = "versions.tf", bucket = "b", key = "get_item.zip", version_id = "1" } }
    environment_values = { TABLE_NAME = "t" }
    concurrency = {
      defaults  = { snap_start = true }
      overrides = { get_item = { provisioned_concurrency = 2 } }
    }
  }

  expect_failures = [aws_lambda_function.this]
}

run "snapstart_on_a_function_not_declared_snapshot_safe_is_refused" {
  command = plan

  module {
    source = "./modules/functions"
  }

  variables {
    name_prefix        = "items-test"
    manifests          = { nightly = var.manifests.nightly }
    artifacts          = { nightly = { path = "versions.tf", bucket = "b", key = "nightly.zip", version_id = "1" } }
    environment_values = { TABLE_NAME = "t" }
    concurrency = {
      defaults  = {}
      overrides = { nightly = { snap_start = true } }
    }
  }

  expect_failures = [aws_lambda_function.this]
}

run "slo_burn_rate_alarms_follow_the_prod_objectives" {
  command = plan

  module {
    source = "./modules/slo"
  }

  variables {
    name_prefix    = "items-prod"
    api_name       = "items-prod"
    api_stage_name = "prod"
    topic_arn      = "arn:aws:sns:eu-west-1:123456789012:items-prod-alarms"
    objectives     = jsondecode(file("stages/prod.json")).slo
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.window) == 12 && length(aws_cloudwatch_composite_alarm.burn) == 6
    error_message = "Two objectives x three window pairs: 12 window alarms and 6 composites."
  }
  assert {
    condition = (
      aws_cloudwatch_composite_alarm.burn["slo-availability-page-1h"].alarm_rule == "ALARM(\"items-prod-slo-availability-page-1h-long\") AND ALARM(\"items-prod-slo-availability-page-1h-short\")"
      && aws_cloudwatch_composite_alarm.burn["slo-latency-ticket-1d"].alarm_actions == toset([var.topic_arn])
    )
    error_message = "A pair fires when both its windows do, and notifies the alarm topic."
  }
  assert {
    condition = alltrue([
      for k, a in aws_cloudwatch_metric_alarm.window : length(coalesce(a.alarm_actions, [])) == 0 && length(coalesce(a.ok_actions, [])) == 0 && a.evaluation_periods == 1 && alltrue([for q in a.metric_query : one(q.metric).period * a.evaluation_periods <= 86400 if length(q.metric) > 0])
    ])
    error_message = "Window alarms notify no one and look back one period of at most a day."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.window["slo-availability-page-1h-long"].threshold == 14.4
      && aws_cloudwatch_metric_alarm.window["slo-availability-page-6h-short"].threshold == 6
      && aws_cloudwatch_metric_alarm.window["slo-latency-ticket-1d-long"].threshold == 3
      && one([for q in aws_cloudwatch_metric_alarm.window["slo-availability-page-1h-long"].metric_query : one(q.metric).period if q.id == "errors"]) == 3600
      && one([for q in aws_cloudwatch_metric_alarm.window["slo-availability-page-1h-short"].metric_query : one(q.metric).period if q.id == "errors"]) == 300
    )
    error_message = "Burn thresholds 14.4 / 6 / 3 over windows of 1 h and 5 min, 6 h and 30 min, 1 day and 2 h."
  }
  assert {
    # 99.9%: a budget of 0.001; 99% within 1000 ms: a budget of 0.01 and the percentile rank PR(:1000).
    condition = (
      endswith(one([for q in aws_cloudwatch_metric_alarm.window["slo-availability-page-1h-long"].metric_query : q.expression if q.id == "burn"]), "/ 0.001")
      && endswith(one([for q in aws_cloudwatch_metric_alarm.window["slo-latency-page-1h-long"].metric_query : q.expression if q.id == "burn"]), "/ 0.01")
      && one([for q in aws_cloudwatch_metric_alarm.window["slo-latency-page-1h-long"].metric_query : one(q.metric).stat if q.id == "fast"]) == "PR(:1000)"
    )
    error_message = "Burn rates divide the bad share by the objective's budget; latency counts requests above latency_ms."
  }
}

run "the_dashboard_shows_every_alarm_route_function_and_queue" {
  command = plan

  module {
    source = "./modules/dashboard"
  }

  variables {
    name_prefix           = "items-prod"
    api_name              = "items-prod"
    api_stage_name        = "prod"
    routes                = { get_item = { method = "GET", path = "/items/{id}" }, create_item = { method = "POST", path = "/items" } }
    function_names        = { get_item = "items-prod-get_item", create_item = "items-prod-create_item", audit_stream = "items-prod-audit_stream" }
    provisioned_aliases   = { "items-prod-get_item" = "live" }
    stream_function_names = ["items-prod-audit_stream"]
    stream_mapping_uuids  = { "items-prod-audit_stream" = "6d9d3b8e-0000-4000-8000-000000000001" }
    canary                = { namespace = "items-prod", metric = "CanaryAuditDelivered", dimensions = { service = "items" } }
    table_name            = "items-prod-items"
    index_names           = ["GSI1"]
    delivery_stream_name  = "items-prod-audit"
    queue_names           = ["items-prod-audit-dlq", "items-prod-webhooks-dlq"]
    topic_names           = ["items-prod-webhooks"]
    alarm_names           = [for i in range(130) : "items-prod-alarm-${i}"]
  }

  assert {
    condition     = alltrue([for i in range(130) : strcontains(aws_cloudwatch_dashboard.this.dashboard_body, ":alarm:items-prod-alarm-${i}\"")])
    error_message = "Every alarm is on the dashboard, past the 100 ARNs one alarm widget holds."
  }
  assert {
    condition = alltrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : length(w.properties.alarms) <= 100 if w.type == "alarm"
    ])
    error_message = "An alarm status widget lists at most 100 alarms."
  }
  assert {
    condition = alltrue([
      for needle in ["GET /items/{id}", "POST /items", "items-prod-create_item", "items-prod-get_item:live", "GSI1", "items-prod-webhooks-dlq", "items-prod-webhooks", "items-prod-audit_stream", "6d9d3b8e-0000-4000-8000-000000000001", "CanaryAuditDelivered"] :
      strcontains(aws_cloudwatch_dashboard.this.dashboard_body, jsonencode(needle))
    ])
    error_message = "Routes, functions, provisioned aliases, indexes, queues, topics, stream mappings and the canary each have their lines."
  }
  assert {
    condition = length(distinct([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : "${w.x},${w.y}"
    ])) == length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets)
    error_message = "No two widgets share a position."
  }
}

run "a_manifest_naming_an_unknown_resource_is_refused" {
  command = plan

  module {
    source = "./modules/functions"
  }

  variables {
    name_prefix        = "items-test"
    manifests          = { bad = merge(var.manifests.get_item, { permissions = [{ actions = ["dynamodb:GetItem"], resource = "no_such_thing" }] }) }
    artifacts          = { bad = { path = "versions.tf", bucket = "b", key = "bad.zip", version_id = "1" } }
    environment_values = { TABLE_NAME = "t" }
  }

  # Not a known resource, so a late one (created after the functions) that is not known either.
  expect_failures = [aws_iam_role_policy.late]
}

run "a_manifest_naming_an_unknown_environment_value_is_refused" {
  command = plan

  module {
    source = "./modules/functions"
  }

  variables {
    name_prefix        = "items-test"
    manifests          = { bad = merge(var.manifests.get_item, { environment = ["NO_SUCH_VALUE"] }) }
    artifacts          = { bad = { path = "versions.tf", bucket = "b", key = "bad.zip", version_id = "1" } }
    environment_values = { TABLE_NAME = "t" }
  }

  expect_failures = [aws_lambda_function.this]
}

run "usage_plans_and_keys_follow_the_prod_tiers" {
  command = apply

  module {
    source = "./modules/api"
  }

  variables {
    name_prefix  = "items-prod"
    stage_name   = "prod"
    routes       = { get_item = { method = "GET", path = "/items/{id}" } }
    targets      = { get_item = { function_name = "items-prod-get_item", alias_name = "live", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:items-prod-get_item:live/invocations", timeout = 5 } }
    schemas      = {}
    throttle     = { rate_limit = 1000, burst_limit = 2000 }
    usage_plans  = jsondecode(file("stages/prod.json")).usage_plans
    partners     = jsondecode(file("stages/prod.json")).partners
    cors_origins = ["https://partners.example.com"]
    authorizer   = { function_name = "items-prod-authorizer", alias_name = "live", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:items-prod-authorizer:live/invocations", identity_source = "method.request.header.x-api-key" }
  }

  assert {
    condition = alltrue([
      for tier, plan in var.usage_plans : (
        one(aws_api_gateway_usage_plan.this[tier].throttle_settings).rate_limit == plan.throttle.rate_limit
        && one(aws_api_gateway_usage_plan.this[tier].throttle_settings).burst_limit == plan.throttle.burst_limit
        && one(aws_api_gateway_usage_plan.this[tier].quota_settings).limit == plan.quota.limit
        && one(aws_api_gateway_usage_plan.this[tier].quota_settings).period == plan.quota.period
      )
    ])
    error_message = "Each tier's usage plan has the stage file's throttle and quota."
  }
  assert {
    condition = length(aws_api_gateway_api_key.this) == length(flatten([for p in var.partners : keys(p.keys)])) && alltrue(flatten([
      for partner, p in var.partners : [
        for name, _ in p.keys : aws_api_gateway_usage_plan_key.this["${partner}/${name}"].usage_plan_id == aws_api_gateway_usage_plan.this[p.usage_plan].id
      ]
    ]))
    error_message = "One API key per named key of each partner, in its partner's plan."
  }
  assert {
    condition     = aws_api_gateway_method.this["get_item"].api_key_required && aws_api_gateway_method.this["get_item"].authorization == "CUSTOM"
    error_message = "Routes require a key and run the partner authorizer."
  }
}

run "a_partner_on_an_unknown_plan_is_refused" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    name_prefix = "items-prod"
    stage_name  = "prod"
    routes      = {}
    targets     = {}
    schemas     = {}
    throttle    = { rate_limit = 1, burst_limit = 1 }
    usage_plans = jsondecode(file("stages/prod.json")).usage_plans
    partners    = { partner-x = { usage_plan = "platinum", keys = { primary = "read-write" } } }
    authorizer  = { function_name = "items-prod-authorizer", alias_name = "live", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:items-prod-authorizer:live/invocations", identity_source = "method.request.header.x-api-key" }
  }

  expect_failures = [aws_api_gateway_api_key.this]
}

run "prod_alarms_use_prod_thresholds" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  variables {
    name_prefix           = "items-prod"
    function_names        = ["items-prod-get_item", "items-prod-audit_stream"]
    stream_function_names = ["items-prod-audit_stream"]
    api_name              = "items-prod"
    api_stage_name        = "prod"
    table_name            = "items-prod-items"
    delivery_stream_name  = "items-prod-audit"
    dlq_names             = ["items-prod-audit-dlq"]
    thresholds            = { for k, v in jsondecode(file("stages/prod.json")).alarms : k => v if k != "email" }
  }

  assert {
    # errors and throttles per function, iterator age and destination delivery failures per stream
    # consumer, four stage-wide alarms, one per DLQ (the canary's alarms need var.canary).
    condition     = length(aws_cloudwatch_metric_alarm.this) == 2 * 2 + 2 + 4 + 1
    error_message = "Alarms: ${jsonencode(keys(aws_cloudwatch_metric_alarm.this))}"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["api-latency-p99"].threshold == var.thresholds.api_latency_p99_ms && aws_cloudwatch_metric_alarm.this["api-latency-p99"].extended_statistic == "p99"
    error_message = "The API latency alarm watches p99 at the stage's threshold."
  }
  assert {
    condition     = alltrue([for k, a in aws_cloudwatch_metric_alarm.this : a.period == var.thresholds.period_seconds && a.evaluation_periods == (startswith(k, "destination-delivery-failures-") ? 1 : var.thresholds.evaluation_periods)])
    error_message = "Every alarm uses the stage's period and evaluation periods (a single failed on-failure delivery alarms at once)."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["iterator-age-items-prod-audit_stream"].threshold == var.thresholds.iterator_age_ms
    error_message = "Stream consumers alarm on iterator age."
  }
}

run "dev_alarms_use_dev_thresholds" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  variables {
    name_prefix           = "items-dev"
    function_names        = ["items-dev-get_item"]
    stream_function_names = []
    api_name              = "items-dev"
    api_stage_name        = "dev"
    table_name            = "items-dev-items"
    delivery_stream_name  = "items-dev-audit"
    dlq_names             = ["items-dev-audit-dlq"]
    thresholds            = { for k, v in jsondecode(file("stages/dev.json")).alarms : k => v if k != "email" }
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["api-latency-p99"].threshold == var.thresholds.api_latency_p99_ms && aws_cloudwatch_metric_alarm.this["api-5xx"].period == var.thresholds.period_seconds
    error_message = "dev's alarms take dev's thresholds."
  }
}

# docs/decisions/0008-caching.md: no response is cached, so none can cross partners or outlive a write.
# Switching a cache on must revisit that record and key the cache on the partner's API key first.
run "the_api_caches_nothing" {
  command = plan

  module {
    source = "./modules/api"
  }

  variables {
    name_prefix = "items-prod"
    stage_name  = "prod"
    routes      = { get_item = { method = "GET", path = "/items/{id}" }, list_items = { method = "GET", path = "/items" } }
    targets = {
      for k in ["get_item", "list_items"] : k => {
        function_name = "items-prod-${k}", alias_name = "live", timeout = 10
        invoke_arn    = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:items-prod-${k}:live/invocations"
      }
    }
    schemas     = {}
    throttle    = { rate_limit = 1000, burst_limit = 2000 }
    usage_plans = jsondecode(file("stages/prod.json")).usage_plans
    partners    = jsondecode(file("stages/prod.json")).partners
    authorizer  = { function_name = "items-prod-authorizer", alias_name = "live", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:items-prod-authorizer:live/invocations", identity_source = "method.request.header.x-api-key" }
  }

  assert {
    condition     = !one(aws_api_gateway_method_settings.all.settings).caching_enabled && !coalesce(aws_api_gateway_stage.this.cache_cluster_enabled, false)
    error_message = "The stage has no cache cluster and no method caches (docs/decisions/0008-caching.md)."
  }
  assert {
    condition     = alltrue([for i in aws_api_gateway_integration.this : length(coalesce(i.cache_key_parameters, [])) == 0])
    error_message = "No integration declares cache keys: there is no cache to key."
  }
}
