locals {
  # The workspace is the stage; its settings live in stages/<stage>.json (see stages/README.md).
  stage_name = terraform.workspace
  stage_files = {
    for f in fileset("${path.module}/stages", "*.json") : trimsuffix(f, ".json") => "${path.module}/stages/${f}" if !endswith(f, ".schema.json")
  }
  stage_known = local.stage_name != "default" && contains(keys(local.stage_files), local.stage_name)
  stage       = module.stage.settings
  name_prefix = "${var.project}-${local.stage_name}"

  # Sources of truth read, never restated: manifests, schemas, the table's key design, the build.
  functions_dir = "${path.module}/../functions"
  manifests = {
    for f in fileset(local.functions_dir, "*/function.json") : dirname(f) => jsondecode(file("${local.functions_dir}/${f}"))
  }
  schemas_dir = "${path.module}/../shared/apikit/schemas"
  schemas     = { for f in fileset(local.schemas_dir, "*.json") : trimsuffix(f, ".json") => file("${local.schemas_dir}/${f}") }
  table_spec  = jsondecode(file("${path.module}/../shared/apikit/table.json"))
  # The release (pyproject.toml, CHANGELOG.md): a stage output and every function's SERVICE_VERSION.
  version      = regex("(?m)^version\\s*=\\s*\"([^\"]+)\"", file("${path.module}/../pyproject.toml"))[0]
  artifact_dir = var.artifact_dir != null ? var.artifact_dir : "${path.module}/../build/lambda"
  build        = jsondecode(file("${local.artifact_dir}/manifest.json"))

  # Object key => local zip: the layer (unless bundled) and every function, as build/manifest.json lists them.
  artifact_files = merge(
    local.build.bundle_layer ? {} : { (local.build.layer.path) = "${local.artifact_dir}/${local.build.layer.path}" },
    { for k, _ in local.manifests : local.build.functions[k].path => "${local.artifact_dir}/${local.build.functions[k].path}" },
  )
}

# The stage file, typed (modules/stage). An unknown workspace evaluates against local.json only so that
# the guard below can fail the plan with a clear message; nothing can be applied from it.
module "stage" {
  source = "./modules/stage"

  settings = jsondecode(file(local.stage_files[local.stage_known ? local.stage_name : "local"]))
}

# Fails the plan, before anything is created, in `default` or any workspace without a stage file.
resource "terraform_data" "stage_guard" {
  input = local.stage_name

  lifecycle {
    precondition {
      condition     = local.stage_known
      error_message = "Workspace \"${terraform.workspace}\" is not a stage. Run `terraform workspace select <stage>` with one of: ${join(", ", keys(local.stage_files))} (settings in terraform/stages/<stage>.json)."
    }
    precondition {
      condition     = !(local.stage.emulated && (local.stage.table.autoscaling != null || anytrue([for o in values(local.stage.functions.overrides) : coalesce(o.provisioned_concurrency, 0) > 0]) || local.stage.functions.defaults.provisioned_concurrency > 0))
      error_message = "Stage ${local.stage_name} is emulated (moto/LocalStack): autoscaling and provisioned concurrency do not work there."
    }
    precondition {
      condition     = !(local.stage.emulated && (local.stage.functions.defaults.snap_start || anytrue([for o in values(local.stage.functions.overrides) : coalesce(o.snap_start, false)])))
      error_message = "Stage ${local.stage_name} is emulated (moto/LocalStack): SnapStart does not work there (moto reports it off, a perpetual diff; the embedded stack never snapshots)."
    }
    precondition {
      condition     = !(local.stage.emulated && local.stage.tracing.sdk == "otel")
      error_message = "Stage ${local.stage_name} is emulated (moto/LocalStack): tracing.sdk otel needs the ADOT layer, which lives in AWS's account."
    }
    precondition {
      condition     = local.stage.tracing.sdk != "otel" || local.stage.tracing.otel_layer_arn != null
      error_message = "Stage ${local.stage_name}: tracing.sdk otel needs tracing.otel_layer_arn (the ADOT Python layer of ${local.stage.region})."
    }
    precondition {
      condition     = !(local.stage.emulated && local.stage.slo != null)
      error_message = "Stage ${local.stage_name} is emulated (moto/LocalStack): SLO burn-rate alarms are composite alarms, which moto does not implement; set slo to null."
    }
    precondition {
      condition     = local.build.bundle_layer == local.stage.bundle_layer
      error_message = "Artifacts in ${local.artifact_dir} have bundle_layer=${local.build.bundle_layer} but stage ${local.stage_name} wants ${local.stage.bundle_layer}: run scripts/build.py ${local.stage.bundle_layer ? "--bundle-layer" : "without --bundle-layer"} and pass its directory as artifact_dir."
    }
  }
}

module "kms" {
  source = "./modules/kms"

  name                    = local.name_prefix
  deletion_window_in_days = local.stage.kms_deletion_window_days
}

module "table" {
  source = "./modules/table"

  name                = "${local.name_prefix}-items"
  spec                = local.table_spec
  kms_key_arn         = module.kms.key_arn
  billing_mode        = local.stage.table.billing_mode
  autoscaling         = local.stage.table.autoscaling
  pitr                = local.stage.table.pitr
  deletion_protection = local.stage.table.deletion_protection
  replicas            = local.stage.table.replicas
}

module "cursor_secret" {
  source = "./modules/secret"

  name                 = "${local.name_prefix}/cursor-key"
  kms_key_arn          = module.kms.key_arn
  recovery_window_days = local.stage.cursor_key.recovery_window_days
}

# Every zip goes to the stage's artifacts bucket first: functions created from S3 objects are created
# in parallel (the provider serialises `filename` uploads), see benchmarks/README.md, "Time to ready".
module "artifacts" {
  source = "./modules/artifacts"

  name_prefix                = local.name_prefix
  kms_key_arn                = module.kms.key_arn
  files                      = local.artifact_files
  noncurrent_expiration_days = local.stage.s3_lifecycle ? 30 : null
}

module "layer" {
  source = "./modules/layer"

  name      = "${local.name_prefix}-apikit"
  zip_path  = "${local.artifact_dir}/${local.build.layer.path}"
  s3_object = try(module.artifacts.objects[local.build.layer.path], null)
  enabled   = !local.build.bundle_layer
}

module "audit" {
  source = "./modules/audit"

  name_prefix                = local.name_prefix
  stage_name                 = local.stage_name
  kms_key_arn                = module.kms.key_arn
  compression                = local.stage.audit.compression
  buffering_size_mb          = local.stage.audit.buffering_size_mb
  buffering_interval_seconds = local.stage.audit.buffering_interval_seconds
  object_lock                = local.stage.audit.object_lock
  force_destroy              = local.stage.audit.force_destroy
  # The roles of the stream consumers whose mappings park failed batches there: Lambda writes the
  # on-failure records with the function's execution role.
  failure_writer_role_arns = [
    for k, m in local.manifests : module.functions.role_arns[k] if try(m.events.dynamodb_stream.on_failure, null) == "audit_failure_bucket"
  ]
  log_retention_days = local.stage.log_retention_days
  lifecycle_rules = local.stage.s3_lifecycle ? {
    transition_ia_days         = local.stage.audit.transition_ia_days
    expiration_days            = local.stage.audit.expiration_days
    noncurrent_expiration_days = local.stage.audit.noncurrent_expiration_days
  } : null

  permissions_boundary = var.permissions_boundary_arn
}

# Item events (SNS FIFO) that functions/webhook_fanout publishes and queue consumers subscribe to.
module "events" {
  source = "./modules/events"

  name_prefix = local.name_prefix
  kms_key_arn = module.kms.key_arn
}

module "functions" {
  source = "./modules/functions"

  name_prefix = local.name_prefix
  manifests   = local.manifests
  artifacts = {
    for k, _ in local.manifests : k => merge(
      module.artifacts.objects[local.build.functions[k].path],
      { path = "${local.artifact_dir}/${local.build.functions[k].path}" },
    )
  }
  layer_arns         = concat(module.layer.arns, local.tracing_layer_arns)
  architecture       = local.build.architecture
  kms_key_arn        = module.kms.key_arn
  log_retention_days = local.stage.log_retention_days
  concurrency        = local.stage.functions

  resource_arns = {
    table                 = [module.table.arn]
    table_indexes         = values(module.table.index_arns)
    table_stream          = [module.table.stream_arn]
    cursor_secret         = [module.cursor_secret.arn]
    audit_delivery_stream = [module.audit.delivery_stream_arn]
    audit_failure_bucket  = [module.audit.failure_bucket_arn]
    audit_failure_records = [module.audit.failure_records_arn]
    item_events_topic     = [module.events.topic_arn]
    kms_key               = [module.kms.key_arn]
  }

  # Topics that queue consumers (manifest events.sqs.topic) subscribe to.
  topic_arns = {
    item_events_topic = module.events.topic_arn
  }

  # Created after the functions (the API's usage plans need its stage, which needs the functions):
  # permissions on them are a second policy the functions do not wait for.
  late_resource_arns = {
    usage_plans = module.api.usage_plan_arns
  }

  # Stream mappings' on-failure destinations: the created resources, so a mapping waits for them.
  destination_arns = {
    audit_failure_bucket = module.audit.failure_bucket_arn
  }

  environment_values = {
    TABLE_NAME               = module.table.name
    CURSOR_SECRET_ID         = module.cursor_secret.arn
    CURSOR_KEY_CACHE_SECONDS = tostring(local.stage.cursor_key.cache_seconds)
    AUDIT_DELIVERY_STREAM    = module.audit.delivery_stream_name
    ITEM_EVENTS_TOPIC_ARN    = module.events.topic_arn
    WEBHOOK_KMS_KEY_ID       = module.kms.key_arn
    # The stage setting webhooks.allow_loopback_http (local only): http://127.0.0.1 endpoints.
    WEBHOOK_ALLOW_LOOPBACK_HTTP = tostring(local.stage.webhooks.allow_loopback_http)
    WEBHOOK_FIRST_RETRY_SECONDS = tostring(local.stage.webhooks.first_retry_seconds)
  }

  common_environment = merge({
    STAGE                   = local.stage_name
    LOG_LEVEL               = local.stage.log_level
    CORS_ALLOWED_ORIGINS    = join(",", local.stage.api.cors_origins)
    POWERTOOLS_SERVICE_NAME = var.project
    # Custom metrics (CloudWatch embedded metric format, e.g. the audit canary's): one namespace per stage.
    POWERTOOLS_METRICS_NAMESPACE = local.name_prefix
    AWS_XRAY_CONTEXT_MISSING     = "IGNORE_ERROR"
    SERVICE_VERSION              = local.version
  }, local.tracing_environment)

  permissions_boundary = var.permissions_boundary_arn
}

module "api" {
  source = "./modules/api"

  name_prefix         = local.name_prefix
  stage_name          = local.stage_name
  routes              = module.functions.routes
  schemas             = local.schemas
  cors_origins        = local.stage.api.cors_origins
  throttle            = local.stage.api.throttle
  logging_level       = local.stage.api.logging_level
  metrics_enabled     = local.stage.api.metrics_enabled
  manage_account_role = local.stage.api.manage_account_role
  custom_domain       = local.stage.api.custom_domain
  usage_plans         = local.stage.usage_plans
  partners            = local.stage.partners
  log_retention_days  = local.stage.log_retention_days
  kms_key_arn         = module.kms.key_arn

  authorizer             = module.functions.authorizer
  authorizer_ttl_seconds = local.stage.api.authorizer_ttl_seconds

  targets = {
    for k, _ in module.functions.routes : k => {
      function_name = module.functions.functions[k].function_name
      alias_name    = module.functions.functions[k].alias_name
      invoke_arn    = module.functions.functions[k].alias_invoke_arn
      timeout       = module.functions.functions[k].timeout
    }
  }

  permissions_boundary = var.permissions_boundary_arn
}

# What the authorizer reads: a record per API key, by the key's hash (table.json api_key_record).
module "api_key_records" {
  source = "./modules/api_key_records"

  table_name     = module.table.name
  hash_key       = local.table_spec.hash_key
  range_key      = local.table_spec.range_key
  record         = local.table_spec.api_key_record
  api_keys       = module.api.api_keys
  api_key_values = module.api.api_key_values
}

module "alarms" {
  source = "./modules/alarms"

  name_prefix           = local.name_prefix
  kms_key_arn           = module.kms.key_arn
  email                 = local.stage.alarms.email
  function_names        = module.functions.function_names
  stream_function_names = module.functions.stream_function_names
  api_name              = module.api.name
  api_stage_name        = module.api.stage_name
  table_name            = module.table.name
  delivery_stream_name  = module.audit.delivery_stream_name
  dlq_names             = module.functions.dlq_names
  stream_mapping_uuids  = local.stream_mapping_uuids
  canary                = merge(local.canary_metric, { window_minutes = local.stage.audit.canary_alarm_minutes })
  thresholds = {
    period_seconds     = local.stage.alarms.period_seconds
    evaluation_periods = local.stage.alarms.evaluation_periods
    lambda_errors      = local.stage.alarms.lambda_errors
    lambda_throttles   = local.stage.alarms.lambda_throttles
    api_5xx            = local.stage.alarms.api_5xx
    api_latency_p99_ms = local.stage.alarms.api_latency_p99_ms
    dynamodb_throttles = local.stage.alarms.dynamodb_throttles
    iterator_age_ms    = local.stage.alarms.iterator_age_ms
    dlq_depth          = local.stage.alarms.dlq_depth
  }
}

# SLO burn-rate alarms (AWS stages with an slo in their stage file).
module "slo" {
  source = "./modules/slo"
  count  = local.stage.slo == null ? 0 : 1

  name_prefix    = local.name_prefix
  api_name       = module.api.name
  api_stage_name = module.api.stage_name
  topic_arn      = module.alarms.topic_arn
  objectives     = local.stage.slo
}

# The stage's dashboard, from the modules' outputs: every route, function, queue and alarm is on it.
module "dashboard" {
  source = "./modules/dashboard"

  name_prefix           = local.name_prefix
  api_name              = module.api.name
  api_stage_name        = module.api.stage_name
  routes                = { for k, r in module.functions.routes : k => { method = r.method, path = r.path } }
  function_names        = { for k, f in module.functions.functions : k => f.function_name }
  provisioned_aliases   = module.functions.provisioned_aliases
  stream_function_names = module.functions.stream_function_names
  stream_mapping_uuids  = local.stream_mapping_uuids
  canary                = local.canary_metric
  table_name            = module.table.name
  index_names           = [for g in local.table_spec.global_secondary_indexes : g.name]
  delivery_stream_name  = module.audit.delivery_stream_name
  queue_names           = keys(local.dlq_urls)
  alarm_names           = local.alarm_names
  burn_rate_alarms      = try(module.slo[0].burn_rate_alarms, {})
  period_seconds        = local.stage.alarms.period_seconds
}

locals {
  # functions/audit_stream emits this (dimension: the service) when a canary heartbeat's audit record
  # reached Firehose; functions/audit_canary writes a heartbeat every few minutes.
  canary_metric = {
    namespace  = local.name_prefix
    metric     = "CanaryAuditDelivered"
    dimensions = { service = var.project }
  }
  stream_mapping_uuids = {
    for k, uuid in module.functions.event_source_mapping_uuids : module.functions.functions[k].function_name => uuid
  }
  # Every dead-letter queue (name => URL) and every alarm of the stage: what the dashboard shows and
  # what docs/operations.md's runbook must cover (terraform/tests/stages.tftest.hcl checks both).
  dlq_urls    = module.functions.dlq_urls
  alarm_names = concat(module.alarms.alarm_names, try(module.slo[0].alarm_names, []))
}

locals {
  # How functions trace (docs/decisions/0007-tracing-exit.md): apikit.tracing reads APIKIT_TRACING; with
  # otel, Lambda starts the ADOT layer through its wrapper script and the layer instruments botocore.
  tracing_layer_arns = local.stage.tracing.sdk == "otel" ? [local.stage.tracing.otel_layer_arn] : []
  tracing_environment = merge(
    { APIKIT_TRACING = local.stage.tracing.sdk },
    local.stage.tracing.sdk == "otel" ? { AWS_LAMBDA_EXEC_WRAPPER = "/opt/otel-instrument" } : {},
  )
}
