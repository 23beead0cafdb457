# One dashboard per stage, generated from what the other modules created: a route, a function, a
# queue, an index or an alarm added anywhere appears here with no edit. Sections, top to bottom:
# alarms, SLO burn rates, API per route, Lambda per function, DynamoDB, the audit stream, queues and
# topics. Widgets are 8 grid units wide (three per row) under a one-unit text header per section.

data "aws_region" "this" {}
data "aws_caller_identity" "this" {}
data "aws_partition" "this" {}

locals {
  region           = data.aws_region.this.name
  alarm_arn_prefix = "arn:${data.aws_partition.this.partition}:cloudwatch:${local.region}:${data.aws_caller_identity.this.account_id}:alarm:"

  api    = ["ApiName", var.api_name, "Stage", var.api_stage_name]
  routes = { for k, r in var.routes : k => ["Method", r.method, "Resource", r.path] }

  # One line per route / function / queue...: [namespace, metric, dimension pairs..., {options}].
  route_lines = {
    for m in ["Count", "4XXError", "5XXError"] : m => [
      for k, r in local.routes : concat(["AWS/ApiGateway", m], local.api, r, [{ stat = "Sum", label = "${var.routes[k].method} ${var.routes[k].path}" }])
    ]
  }
  latency_lines = [
    for k, r in local.routes : concat(["AWS/ApiGateway", "Latency"], local.api, r, [{ stat = "p99", label = "${var.routes[k].method} ${var.routes[k].path} p99" }])
  ]
  function_lines = {
    for spec in [["Errors", "Sum"], ["Throttles", "Sum"], ["Duration", "p99"], ["ConcurrentExecutions", "Maximum"]] : spec[0] => [
      for k, f in var.function_names : ["AWS/Lambda", spec[0], "FunctionName", f, { stat = spec[1], label = k }]
    ]
  }
  provisioned_lines = [
    for f, alias in var.provisioned_aliases : ["AWS/Lambda", "ProvisionedConcurrencyUtilization", "FunctionName", f, "Resource", "${f}:${alias}", { stat = "Maximum", label = f }]
  ]
  spillover_lines = [
    for f, alias in var.provisioned_aliases : ["AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", "FunctionName", f, "Resource", "${f}:${alias}", { stat = "Sum", label = f }]
  ]
  capacity_lines = {
    for m in ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents"] : m => concat(
      [["AWS/DynamoDB", m, "TableName", var.table_name, { stat = "Sum", label = "table" }]],
      [for i in var.index_names : ["AWS/DynamoDB", m, "TableName", var.table_name, "GlobalSecondaryIndexName", i, { stat = "Sum", label = i }]],
    )
  }
  firehose = ["DeliveryStreamName", var.delivery_stream_name]

  sections = [
    {
      title = "Alarms (every alarm of ${var.name_prefix}; runbook: docs/operations.md#runbook)"
      widgets = [
        for i, chunk in chunklist(sort(var.alarm_names), 100) : {
          type       = "alarm", title = "Alarms ${i * 100 + 1}-${i * 100 + length(chunk)}", wide = true
          properties = { alarms = [for n in chunk : "${local.alarm_arn_prefix}${n}"], sortBy = "stateUpdatedTimestamp" }
        }
      ]
    },
    {
      title = "SLO burn rates (1 = the 30-day budget lasts exactly 30 days)"
      widgets = [
        for name, a in var.burn_rate_alarms : {
          type       = "metric", title = "${a.slo} ${a.pair} (${a.period / 60} min window)", wide = false
          properties = { annotations = { alarms = ["${local.alarm_arn_prefix}${name}"] } }
        }
      ]
    },
    {
      title = "API ${var.api_name}, stage ${var.api_stage_name}, per route"
      widgets = [
        for w in [
          ["Requests", local.route_lines["Count"]],
          ["4XX answers", local.route_lines["4XXError"]],
          ["5XX answers", local.route_lines["5XXError"]],
          ["Latency p99 (ms)", local.latency_lines],
        ] : { type = "metric", title = w[0], wide = false, properties = { metrics = w[1] } } if length(w[1]) > 0
      ]
    },
    {
      title = "Lambda, per function"
      widgets = [
        for w in [
          ["Errors", local.function_lines["Errors"]],
          ["Throttles", local.function_lines["Throttles"]],
          ["Duration p99 (ms)", local.function_lines["Duration"]],
          ["Concurrent executions (max)", local.function_lines["ConcurrentExecutions"]],
          ["Provisioned concurrency used (max, 0-1)", local.provisioned_lines],
          ["Invocations beyond provisioned concurrency", local.spillover_lines],
        ] : { type = "metric", title = w[0], wide = false, properties = { metrics = w[1] } } if length(w[1]) > 0
      ]
    },
    {
      title = "DynamoDB ${var.table_name}"
      widgets = [
        for w in [
          ["Consumed read capacity", local.capacity_lines["ConsumedReadCapacityUnits"]],
          ["Consumed write capacity", local.capacity_lines["ConsumedWriteCapacityUnits"]],
          ["Throttled reads", local.capacity_lines["ReadThrottleEvents"]],
          ["Throttled writes", local.capacity_lines["WriteThrottleEvents"]],
          ["Throttled requests", [["AWS/DynamoDB", "ThrottledRequests", "TableName", var.table_name, { stat = "Sum" }]]],
        ] : { type = "metric", title = w[0], wide = false, properties = { metrics = w[1] } }
      ]
    },
    {
      title = "Audit stream: table stream -> consumers -> Firehose ${var.delivery_stream_name} -> S3"
      widgets = [
        for w in [
          ["Stream iterator age (ms, max)", [for f in var.stream_function_names : ["AWS/Lambda", "IteratorAge", "FunctionName", f, { stat = "Maximum", label = f }]]],
          ["Stream batches parked in the failure bucket / dropped", concat(
            [for f, uuid in var.stream_mapping_uuids : ["AWS/Lambda", "OnFailureDestinationDeliveredEventCount", "EventSourceMappingUUID", uuid, { stat = "Sum", label = "${f} parked" }]],
            [for f, uuid in var.stream_mapping_uuids : ["AWS/Lambda", "DroppedEventCount", "EventSourceMappingUUID", uuid, { stat = "Sum", label = "${f} dropped" }]],
            [for f in var.stream_function_names : ["AWS/Lambda", "DestinationDeliveryFailures", "FunctionName", f, { stat = "Sum", label = "${f} not parked (destination failed)" }]],
          )],
          ["Audit canary heartbeats that reached Firehose", var.canary == null ? [] : [
            concat([var.canary.namespace, var.canary.metric], flatten([for k, v in var.canary.dimensions : [k, v]]), [{ stat = "Sum", label = "heartbeats" }]),
          ]],
          ["Firehose records in / delivered to S3", [
            concat(["AWS/Firehose", "IncomingRecords"], local.firehose, [{ stat = "Sum", label = "incoming" }]),
            concat(["AWS/Firehose", "DeliveryToS3.Records"], local.firehose, [{ stat = "Sum", label = "delivered" }]),
          ]],
          ["Firehose delivery to S3: success (0-1) and freshness (s)", [
            concat(["AWS/Firehose", "DeliveryToS3.Success"], local.firehose, [{ stat = "Minimum", label = "success" }]),
            concat(["AWS/Firehose", "DeliveryToS3.DataFreshness"], local.firehose, [{ stat = "Maximum", label = "freshness", yAxis = "right" }]),
          ]],
        ] : { type = "metric", title = w[0], wide = false, properties = { metrics = w[1] } } if length(w[1]) > 0
      ]
    },
    {
      title = "Queues and topics (dead-letter queues should be empty)"
      widgets = [
        for w in [
          ["Messages waiting", [for q in var.queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, { stat = "Maximum", label = q }]]],
          ["Age of the oldest message (s)", [for q in var.queue_names : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q, { stat = "Maximum", label = q }]]],
          ["Notifications delivered", [for t in var.topic_names : ["AWS/SNS", "NumberOfNotificationsDelivered", "TopicName", t, { stat = "Sum", label = t }]]],
          ["Notifications failed", [for t in var.topic_names : ["AWS/SNS", "NumberOfNotificationsFailed", "TopicName", t, { stat = "Sum", label = t }]]],
        ] : { type = "metric", title = w[0], wide = false, properties = { metrics = w[1] } } if length(w[1]) > 0
      ]
    },
  ]

  # Layout: a section takes its header row plus rows of three 8-wide widgets (alarm lists full width).
  shown   = [for s in local.sections : s if length(s.widgets) > 0]
  heights = [for s in local.shown : 1 + sum([for i, w in s.widgets : w.wide ? 6 : (i % 3 == 0 ? 6 : 0)])]
  tops    = [for i, _ in local.shown : sum(concat([0], slice(local.heights, 0, i)))]

  widgets = flatten([
    for si, s in local.shown : concat(
      [{ type = "text", x = 0, y = local.tops[si], width = 24, height = 1, properties = { markdown = "## ${s.title}" } }],
      [
        for i, w in s.widgets : {
          type   = w.type
          x      = w.wide ? 0 : (i % 3) * 8
          y      = local.tops[si] + 1 + (w.wide ? i * 6 : floor(i / 3) * 6)
          width  = w.wide ? 24 : 8
          height = 6
          properties = merge(w.properties, { title = w.title }, w.type == "metric" ? {
            region = local.region, view = "timeSeries", stacked = false, period = var.period_seconds
          } : {})
        }
      ],
    )
  ])
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name_prefix}-overview"
  dashboard_body = jsonencode({ start = "-PT6H", periodOverride = "inherit", widgets = local.widgets })
}
