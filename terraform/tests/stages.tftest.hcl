# The root module in the workspace `terraform test` runs in: every stage's wiring, in seconds, with a
# mocked AWS provider. tests/terraform/test_tftest.py runs this file once per stage (TF_WORKSPACE) with
# that stage's build as artifact_dir; plans and applies against moto stay in tests/terraform.

mock_provider "aws" {
  source = "./tests/mocks"
}

# A mapping's UUID is known only after apply, and the dashboard graphs by it: a fixed one at plan time
# lets the dashboard's body be read here.
override_resource {
  target          = module.functions.aws_lambda_event_source_mapping.dynamodb_stream
  override_during = plan
  values = {
    uuid = "6d9d3b8e-0000-4000-8000-000000000001"
  }
}

run "stage_plans_from_its_settings" {
  command = plan

  assert {
    condition     = output.stage == terraform.workspace && output.region == jsondecode(file("stages/${terraform.workspace}.json")).region
    error_message = "Workspace ${terraform.workspace} planned stage ${output.stage} in ${output.region}."
  }
  assert {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+", output.version))
    error_message = "The stage's version (${output.version}) is not a semantic version from pyproject.toml."
  }
  assert {
    # Every manifest with a route becomes an API route, and only those (adding one needs no Terraform).
    condition     = jsonencode(keys(module.functions.routes)) == jsonencode(sort([for f in fileset("../functions", "*/function.json") : dirname(f) if can(jsondecode(file("../functions/${f}")).route)]))
    error_message = "Routes ${jsonencode(keys(module.functions.routes))} do not match the routed manifests."
  }
  assert {
    condition     = alltrue([for name, r in module.functions.routes : r.api_key_required && r.method == upper(r.method)])
    error_message = "Every route needs an API key: ${jsonencode(module.functions.routes)}"
  }
}

run "every_function_stream_and_queue_is_alarmed" {
  command = plan

  assert {
    # Errors and throttles per function; per stream consumer iterator age, stall, on-failure and
    # dropped batches and destination delivery failures; depth per dead-letter queue (one per
    # asynchronous function, one per queue consumer); and API 5xx, API p99, DynamoDB throttles, Firehose delivery and
    # freshness, and the audit canary.
    condition = length(module.alarms.alarm_names) == (
      2 * length(local.manifests)
      + 5 * length([for m in values(local.manifests) : m if can(m.events.dynamodb_stream)])
      + length([for m in values(local.manifests) : m if !can(m.route) && !can(m.authorizer) && !can(m.events.dynamodb_stream) && !can(m.events.sqs)])
      + length([for m in values(local.manifests) : m if can(m.events.sqs)])
      + 6
    )
    error_message = "Alarms: ${jsonencode(module.alarms.alarm_names)}"
  }
  assert {
    condition     = alltrue([for n in module.alarms.alarm_names : startswith(n, "${local.name_prefix}-")])
    error_message = "Alarm names must carry the stage prefix ${local.name_prefix}."
  }
}

# The dashboard, the alarms and the runbook agree: every alarm the stage plans (whichever module adds
# it) has an entry in docs/operations.md#runbook (a heading `<name>`, where <...> stands for the part
# that varies) and a place on the dashboard; every route and function is graphed.
run "every_alarm_has_a_runbook_entry_and_a_dashboard_widget" {
  command = plan

  variables {
    runbook = [
      for h in regexall("(?m)^#### `([^`]+)`$", file("../docs/operations.md")) : "^${replace(h[0], "/<[^>]+>/", ".+")}$"
    ]
  }

  assert {
    condition = length([
      for n in local.alarm_names : n if !anytrue([for p in var.runbook : can(regex(p, trimprefix(n, "${local.name_prefix}-")))])
    ]) == 0
    error_message = "Alarms without a runbook entry in docs/operations.md#runbook: ${jsonencode([for n in local.alarm_names : trimprefix(n, "${local.name_prefix}-") if !anytrue([for p in var.runbook : can(regex(p, trimprefix(n, "${local.name_prefix}-")))])])}"
  }
  assert {
    condition     = alltrue([for n in local.alarm_names : strcontains(module.dashboard.body, ":alarm:${n}\"")])
    error_message = "Alarms missing from the dashboard: ${jsonencode([for n in local.alarm_names : n if !strcontains(module.dashboard.body, ":alarm:${n}\"")])}"
  }
  assert {
    condition = alltrue(concat(
      [for k, r in module.functions.routes : strcontains(module.dashboard.body, jsonencode("${r.method} ${r.path}"))],
      [for k, f in module.functions.functions : strcontains(module.dashboard.body, jsonencode(f.function_name))],
    ))
    error_message = "Every route and every function is graphed on the dashboard."
  }
  assert {
    condition     = alltrue([for f, uuid in local.stream_mapping_uuids : strcontains(module.dashboard.body, jsonencode(uuid))]) && strcontains(module.dashboard.body, jsonencode(local.canary_metric.metric))
    error_message = "Every stream mapping's parked and dropped records, and the audit canary's heartbeats, are graphed."
  }
  assert {
    condition     = length(local.alarm_names) == length(distinct(local.alarm_names)) && length(local.alarm_names) > 0
    error_message = "Alarm names are unique: ${jsonencode(local.alarm_names)}"
  }
  assert {
    condition     = startswith(module.dashboard.name, "${local.name_prefix}-")
    error_message = "The dashboard carries the stage prefix, which the bootstrap's deploy roles are scoped to."
  }
}

run "slos_snapstart_and_tracing_follow_the_stage_file" {
  command = plan

  assert {
    # Three window pairs per objective, each a composite over a long and a short window alarm.
    condition     = length(module.slo) == (local.stage.slo == null ? 0 : 1) && length(try(module.slo[0].alarm_names, [])) == (local.stage.slo == null ? 0 : 2 * 3 * 3)
    error_message = "SLO alarms exist exactly where the stage file states SLOs: ${jsonencode(try(module.slo[0].alarm_names, []))}"
  }
  assert {
    condition = toset(module.functions.snap_start_function_names) == toset([
      for k, m in local.manifests : "${local.name_prefix}-${k}"
      if try(local.stage.functions.overrides[k].snap_start, null) != null ? local.stage.functions.overrides[k].snap_start : local.stage.functions.defaults.snap_start && try(m.snap_start, false)
    ])
    error_message = "SnapStart is on for ${jsonencode(module.functions.snap_start_function_names)}, not what the stage file and manifests say."
  }
  assert {
    condition     = length(setintersection(toset(module.functions.snap_start_function_names), toset(keys(module.functions.provisioned_aliases)))) == 0
    error_message = "No function has both SnapStart and provisioned concurrency."
  }
  assert {
    # xray: the layer's SDK, no extra layer; otel (the dev-otel variant test_tftest.py writes): the
    # ADOT layer and its wrapper, and apikit.tracing told to leave botocore alone.
    condition = (
      local.tracing_environment.APIKIT_TRACING == local.stage.tracing.sdk
      && contains(keys(local.tracing_environment), "AWS_LAMBDA_EXEC_WRAPPER") == (local.stage.tracing.sdk == "otel")
      && local.tracing_layer_arns == (local.stage.tracing.sdk == "otel" ? [local.stage.tracing.otel_layer_arn] : [])
    )
    error_message = "Tracing ${local.stage.tracing.sdk}: environment ${jsonencode(local.tracing_environment)}, extra layers ${jsonencode(local.tracing_layer_arns)}."
  }
}

# docs/decisions/0008-caching.md: the stage's one cache is API Gateway's cache of the authorizer's
# answer (the partner in its context), and it is keyed on the identity sources: with the API key among
# them, an entry is one key's, so one partner's; without it, one partner's context would be served to
# another's requests for the TTL.
run "the_authorizer_cache_is_keyed_on_the_api_key" {
  command = plan

  assert {
    condition     = contains([for s in split(",", module.functions.authorizer.identity_source) : trimspace(s)], "method.request.header.x-api-key")
    error_message = "The authorizer's identity source (${module.functions.authorizer.identity_source}) must include method.request.header.x-api-key, the cache key of its answers."
  }
}
