data "aws_region" "this" {}
data "aws_caller_identity" "this" {}
data "aws_partition" "this" {}

locals {
  region     = data.aws_region.this.name
  account_id = data.aws_caller_identity.this.account_id

  # One entry per manifest; everything the resources below need, with defaults applied.
  functions = {
    for name, m in var.manifests : name => {
      description = try(m.description, name)
      handler     = m.handler
      runtime     = m.runtime
      timeout     = m.timeout
      memory_size = m.memory_size
      env_names   = try(m.environment, [])
      permissions = try(m.permissions, [])
      route       = try(m.route, null)
      stream      = try(m.events.dynamodb_stream, null)
      sqs         = try(m.events.sqs, null)
      schedule    = try(m.events.schedule, null)
      authorizer  = try(m.authorizer, null)
      # Neither behind the API (a route or its authorizer: synchronous) nor fed by a stream mapping
      # (its own on-failure destination): invoked asynchronously (by a schedule, say), so it gets a
      # queue and an event invoke config whose on-failure destination it is (Lambda's DeadLetterConfig
      # carries only the event; the destination gets the whole invocation record, and moto stores no
      # DeadLetterConfig).
      async = try(m.route, null) == null && try(m.authorizer, null) == null && try(m.events.dynamodb_stream, null) == null && try(m.events.sqs, null) == null
      reserved = try(var.concurrency.overrides[name].reserved_concurrency, null) != null ? (
        var.concurrency.overrides[name].reserved_concurrency
      ) : var.concurrency.defaults.reserved_concurrency
      provisioned = try(var.concurrency.overrides[name].provisioned_concurrency, null) != null ? (
        var.concurrency.overrides[name].provisioned_concurrency
      ) : var.concurrency.defaults.provisioned_concurrency
      # SnapStart: the stage's override for this function, else the stage default for the functions
      # whose manifest declares their init snapshot-safe ("snap_start": true).
      snap_start_safe = try(m.snap_start, false)
      snap_start = try(var.concurrency.overrides[name].snap_start, null) != null ? (
        var.concurrency.overrides[name].snap_start
      ) : var.concurrency.defaults.snap_start && try(m.snap_start, false)
    }
  }

  # Each manifest permission's IAM condition: the manifest's own, as written; S3 grants are also held
  # to buckets of this account (s3:ResourceAccount), so that a bucket deleted and re-created elsewhere
  # under the same name never receives our objects (Lambda's advice for on-failure buckets).
  conditions = {
    for k, f in local.functions : k => [
      for p in f.permissions : merge(
        try(p.condition, {}),
        {
          for op, keys in { StringEquals = merge(try(p.condition.StringEquals, {}), { "s3:ResourceAccount" = local.account_id }) } :
          op => keys if alltrue([for a in p.actions : startswith(a, "s3:")])
        },
      )
    ]
  }

  async_functions = { for k, f in local.functions : k => f if f.async }
  # Known before the queues exist, so that role policies (which every function waits for) need not
  # wait for SQS's ~25 s attribute settling; each queue's postcondition proves its real ARN matches.
  async_dlq_arns = {
    for k, _ in local.async_functions : k => "arn:${data.aws_partition.this.partition}:sqs:${local.region}:${local.account_id}:${var.name_prefix}-${k}-dlq"
  }
  stream_functions = { for k, f in local.functions : k => f if f.stream != null }
  # Queue consumers (manifest events.sqs): each gets its own queue (FIFO when the manifest says so),
  # subscribed to the named topic, with a dead-letter queue after max_receive_count receives. ARNs
  # are precomputed for the same reason as the async DLQs'.
  sqs_functions = { for k, f in local.functions : k => f if f.sqs != null }
  sqs_queue_names = {
    for k, f in local.sqs_functions : k => "${var.name_prefix}-${k}${try(f.sqs.fifo, false) ? ".fifo" : ""}"
  }
  sqs_dlq_names = {
    for k, f in local.sqs_functions : k => "${var.name_prefix}-${k}-dlq${try(f.sqs.fifo, false) ? ".fifo" : ""}"
  }
  sqs_queue_arns = {
    for k, n in local.sqs_queue_names : k => "arn:${data.aws_partition.this.partition}:sqs:${local.region}:${local.account_id}:${n}"
  }
  scheduled   = { for k, f in local.functions : k => f if f.schedule != null }
  provisioned = { for k, f in local.functions : k => f if f.provisioned > 0 }

  # Permissions on resources that exist only after the API does (its usage plans) go into a second
  # inline policy that the function does not wait for; anything else must be a known resource.
  late_permissions = {
    for k, f in local.functions : k => [
      for i, p in f.permissions : merge(p, { sid = "Manifest${i}" }) if !contains(keys(var.resource_arns), p.resource)
    ]
  }
  late_functions = { for k, perms in local.late_permissions : k => perms if length(perms) > 0 }
  unknown_resources = distinct(flatten([
    for k, perms in local.late_permissions : [
      for p in perms : "${k}: ${p.resource}" if !contains(keys(var.late_resource_arns), p.resource)
    ]
  ]))
  unknown_env = distinct(flatten([
    for k, f in local.functions : [
      for n in f.env_names : "${k}: ${n}" if !contains(keys(var.environment_values), n)
    ]
  ]))

  # KMS use is allowed only through the services a function's manifest actions call.
  kms_services = {
    for k, f in local.functions : k => sort(distinct(concat(
      ["lambda.${local.region}.amazonaws.com"],
      flatten([for p in f.permissions : [for a in p.actions : "${split(":", a)[0]}.${local.region}.amazonaws.com"]]),
      f.async || f.sqs != null ? ["sqs.${local.region}.amazonaws.com"] : [],
    )))
  }
}

resource "aws_iam_role" "this" {
  for_each = local.functions

  name                 = "${var.name_prefix}-${each.key}"
  description          = "Execution role of ${var.name_prefix}-${each.key}"
  permissions_boundary = var.permissions_boundary
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# Exactly the manifest's actions on its symbolic resources (Sid ManifestN), plus what every function
# needs to run: its own log group, X-Ray segments (no resource-level permissions exist for them) and
# the stage key through the services it calls.
resource "aws_iam_role_policy" "this" {
  for_each = local.functions

  name = "${var.name_prefix}-${each.key}"
  role = aws_iam_role.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        for i, p in each.value.permissions : merge(
          {
            Sid      = "Manifest${i}"
            Effect   = "Allow"
            Action   = sort(p.actions)
            Resource = var.resource_arns[p.resource]
          },
          { for k, v in { Condition = local.conditions[each.key][i] } : k => v if length(v) > 0 },
        ) if contains(keys(var.resource_arns), p.resource)
      ],
      [
        {
          Sid      = "Logs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${aws_cloudwatch_log_group.this[each.key].arn}:*"
        },
        {
          Sid      = "XRay"
          Effect   = "Allow"
          Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
          Resource = "*"
        },
        {
          Sid       = "KmsViaServices"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
          Resource  = var.kms_key_arn
          Condition = { StringEquals = { "kms:ViaService" = local.kms_services[each.key] } }
        },
      ],
      each.value.async ? [
        {
          Sid      = "AsyncDlq"
          Effect   = "Allow"
          Action   = ["sqs:SendMessage"]
          Resource = local.async_dlq_arns[each.key]
        }
      ] : [],
      # What Lambda's SQS poller needs (with the function's role), and what the consumer itself calls
      # to back a failed message off (GetQueueUrl, ChangeMessageVisibility): its own queue only.
      each.value.sqs != null ? [
        {
          Sid      = "OwnQueue"
          Effect   = "Allow"
          Action   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
          Resource = local.sqs_queue_arns[each.key]
        }
      ] : [],
    )
  })
}

# Manifest permissions on late resources (see local.late_permissions): same Sids as in the manifest.
resource "aws_iam_role_policy" "late" {
  for_each = local.late_functions

  name = "${var.name_prefix}-${each.key}-late"
  role = aws_iam_role.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      for p in each.value : {
        Sid      = p.sid
        Effect   = "Allow"
        Action   = sort(p.actions)
        Resource = var.late_resource_arns[p.resource]
      }
    ]
  })

  lifecycle {
    precondition {
      condition     = length(local.unknown_resources) == 0
      error_message = "Manifests name unknown symbolic resources (${join(", ", local.unknown_resources)}); known: ${join(", ", concat(keys(var.resource_arns), keys(var.late_resource_arns)))}."
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_sqs_queue" "async_dlq" {
  for_each = local.async_functions

  name                      = "${var.name_prefix}-${each.key}-dlq"
  message_retention_seconds = var.dlq_retention_seconds
  kms_master_key_id         = var.kms_key_arn

  lifecycle {
    postcondition {
      condition     = self.arn == local.async_dlq_arns[each.key]
      error_message = "The DLQ's ARN is ${self.arn}, not the ${local.async_dlq_arns[each.key]} that the role policy names."
    }
  }
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:No VPC resources to reach; DynamoDB, SSM and Firehose are public AWS endpoints reached over TLS.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile per account; artifacts are built reproducibly and hashed instead.
  #checkov:skip=CKV_AWS_116:Failed asynchronous events go to an on-failure destination (event invoke config: the whole invocation record), not a DLQ; API and stream-mapped functions report failures to the caller or the mapping's destination.
  for_each = local.functions

  function_name                  = "${var.name_prefix}-${each.key}"
  description                    = each.value.description
  role                           = aws_iam_role.this[each.key].arn
  runtime                        = each.value.runtime
  handler                        = each.value.handler
  timeout                        = each.value.timeout
  memory_size                    = each.value.memory_size
  architectures                  = [var.architecture]
  s3_bucket                      = var.artifacts[each.key].bucket
  s3_key                         = var.artifacts[each.key].key
  s3_object_version              = var.artifacts[each.key].version_id
  source_code_hash               = filebase64sha256(var.artifacts[each.key].path)
  layers                         = var.layer_arns
  publish                        = true
  reserved_concurrent_executions = each.value.reserved == null ? -1 : each.value.reserved
  kms_key_arn                    = var.kms_key_arn

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = merge(
      var.common_environment,
      { for n in each.value.env_names : n => var.environment_values[n] },
    )
  }

  # Published versions (the live alias) start from a snapshot of the initialised environment; the
  # layer's apikit.snapstart hooks refresh what restored copies must not share.
  dynamic "snap_start" {
    for_each = each.value.snap_start ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = length(local.unknown_env) == 0
      error_message = "Manifests name unknown environment values (${join(", ", local.unknown_env)}); known: ${join(", ", keys(var.environment_values))}."
    }
    precondition {
      condition     = !(each.value.snap_start && !each.value.snap_start_safe)
      error_message = "${each.key}: the stage turns SnapStart on, but functions/${each.key}/function.json does not declare \"snap_start\": true (its init is not known to be snapshot-safe)."
    }
    precondition {
      condition     = !(each.value.snap_start && each.value.provisioned > 0)
      error_message = "${each.key}: SnapStart and provisioned concurrency (${each.value.provisioned}) cannot both apply to the live alias's version; give the function snap_start false or provisioned_concurrency 0 in the stage file."
    }
    precondition {
      condition     = !each.value.snap_start || can(regex("^python3\\.(1[2-9]|[2-9][0-9])$", each.value.runtime))
      error_message = "${each.key}: SnapStart serves Python functions from python3.12 on; the manifest says ${each.value.runtime}."
    }
  }
}

resource "aws_lambda_alias" "live" {
  for_each = local.functions

  name             = "live"
  description      = "What callers invoke: the latest published version"
  function_name    = aws_lambda_function.this[each.key].function_name
  function_version = aws_lambda_function.this[each.key].version
}

resource "aws_lambda_provisioned_concurrency_config" "live" {
  for_each = local.provisioned

  function_name                     = aws_lambda_alias.live[each.key].function_name
  qualifier                         = aws_lambda_alias.live[each.key].name
  provisioned_concurrent_executions = each.value.provisioned
}

resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.async_functions

  function_name                = aws_lambda_alias.live[each.key].function_name
  qualifier                    = aws_lambda_alias.live[each.key].name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.async_dlq[each.key].arn
    }
  }
}

# Stream consumers: settings straight from the manifest's events.dynamodb_stream. function_name is
# the published version's ARN (an alias ARN plans with a perpetual diff on moto).
resource "aws_lambda_event_source_mapping" "dynamodb_stream" {
  for_each = local.stream_functions

  event_source_arn                   = one(var.resource_arns["table_stream"])
  function_name                      = aws_lambda_function.this[each.key].qualified_arn
  starting_position                  = try(each.value.stream.starting_position, "TRIM_HORIZON")
  batch_size                         = try(each.value.stream.batch_size, 100)
  maximum_batching_window_in_seconds = try(each.value.stream.maximum_batching_window_in_seconds, 0)
  bisect_batch_on_function_error     = try(each.value.stream.bisect_batch_on_function_error, false)
  maximum_retry_attempts             = try(each.value.stream.maximum_retry_attempts, -1)
  maximum_record_age_in_seconds      = try(each.value.stream.maximum_record_age_in_seconds, -1)
  parallelization_factor             = try(each.value.stream.parallelization_factor, 1)
  function_response_types            = try(each.value.stream.function_response_types, [])

  # EventCount: PolledEventCount, OnFailureDestinationDeliveredEventCount, DroppedEventCount... per
  # mapping (dimension EventSourceMappingUUID), which the alarms watch.
  dynamic "metrics_config" {
    for_each = length(try(each.value.stream.metrics, [])) == 0 ? [] : [each.value.stream.metrics]
    content {
      metrics = metrics_config.value
    }
  }

  dynamic "destination_config" {
    for_each = try(each.value.stream.on_failure, null) == null ? [] : [var.destination_arns[each.value.stream.on_failure]]
    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }

  depends_on = [aws_iam_role_policy.this]
}

# Scheduled functions: an EventBridge rule per manifest events.schedule (rate(...) or cron(...)),
# invoking the live alias asynchronously; the permission admits that rule only.
resource "aws_cloudwatch_event_rule" "schedule" {
  for_each = local.scheduled

  name                = "${var.name_prefix}-${each.key}"
  description         = "Runs ${var.name_prefix}-${each.key} on ${each.value.schedule}"
  schedule_expression = each.value.schedule
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = local.scheduled

  rule      = aws_cloudwatch_event_rule.schedule[each.key].name
  target_id = "live"
  arn       = aws_lambda_alias.live[each.key].arn
}

resource "aws_lambda_permission" "schedule" {
  for_each = local.scheduled

  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  qualifier     = aws_lambda_alias.live[each.key].name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[each.key].arn
}

# Queue consumers (manifest events.sqs): dead-letter queue, queue (redrive after max_receive_count,
# a policy admitting only the manifest's topic), the topic's subscription with raw delivery, and the
# event source mapping (partial batch responses when the manifest asks for them).
resource "aws_sqs_queue" "events_dlq" {
  for_each = local.sqs_functions

  name                      = local.sqs_dlq_names[each.key]
  fifo_queue                = try(each.value.sqs.fifo, false)
  message_retention_seconds = var.dlq_retention_seconds
  kms_master_key_id         = var.kms_key_arn
}

resource "aws_sqs_queue" "events" {
  for_each = local.sqs_functions

  name                       = local.sqs_queue_names[each.key]
  fifo_queue                 = try(each.value.sqs.fifo, false)
  visibility_timeout_seconds = each.value.sqs.visibility_timeout_seconds
  message_retention_seconds  = each.value.sqs.message_retention_seconds
  kms_master_key_id          = var.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dlq[each.key].arn
    maxReceiveCount     = each.value.sqs.max_receive_count
  })
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "TopicSendsHere"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = local.sqs_queue_arns[each.key]
      Condition = { ArnEquals = { "aws:SourceArn" = var.topic_arns[each.value.sqs.topic] } }
    }]
  })

  lifecycle {
    precondition {
      condition     = contains(keys(var.topic_arns), each.value.sqs.topic)
      error_message = "${each.key}: events.sqs.topic ${each.value.sqs.topic} is not one of ${join(", ", keys(var.topic_arns))}."
    }
    precondition {
      # Lambda refuses a mapping whose queue hides messages for less than the function may run.
      condition     = each.value.sqs.visibility_timeout_seconds >= each.value.timeout
      error_message = "${each.key}: the queue's visibility timeout must be at least the function's timeout."
    }
    postcondition {
      condition     = self.arn == local.sqs_queue_arns[each.key]
      error_message = "The queue's ARN is ${self.arn}, not the ${local.sqs_queue_arns[each.key]} that the role policy names."
    }
  }
}

resource "aws_sns_topic_subscription" "events" {
  for_each = local.sqs_functions

  topic_arn            = var.topic_arns[each.value.sqs.topic]
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.events[each.key].arn
  raw_message_delivery = true
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each = local.sqs_functions

  event_source_arn        = aws_sqs_queue.events[each.key].arn
  function_name           = aws_lambda_function.this[each.key].qualified_arn
  batch_size              = try(each.value.sqs.batch_size, 10)
  function_response_types = try(each.value.sqs.function_response_types, [])

  depends_on = [aws_iam_role_policy.this]
}
