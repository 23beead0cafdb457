locals {
  common = {
    period             = var.thresholds.period_seconds
    evaluation_periods = var.thresholds.evaluation_periods
  }

  # The window in which the audit canary (every few minutes) must have produced a datapoint.
  canary_period = var.canary == null ? 0 : var.canary.window_minutes * 60

  # Alarms whose silence means a stall: no datapoint is breaching. They exist only with the canary,
  # whose heartbeat writes guarantee the stream traffic that makes absence meaningful.
  stall_alarms = var.canary == null ? {} : merge(
    {
      for f in var.stream_function_names : "stream-stalled-${f}" => {
        namespace   = "AWS/Lambda", metric = "Invocations", statistic = "Sum", extended_statistic = null
        dimensions  = { FunctionName = f }, comparison = "LessThanThreshold", threshold = 1
        description = "Stream consumer ${f} was not invoked for ${var.canary.window_minutes} min although the canary writes every few minutes: the mapping is disabled, or cannot read the stream or invoke the function"
        period      = local.canary_period, evaluation_periods = 1, treat_missing_data = "breaching", actions = true
      }
    },
  )

  # Records the stream consumers gave up on, and whether they reached the failure bucket. Absence
  # means nothing happened: not breaching.
  mapping_alarms = merge(
    {
      for f, uuid in var.stream_mapping_uuids : "mapping-on-failure-${f}" => {
        namespace   = "AWS/Lambda", metric = "OnFailureDestinationDeliveredEventCount", statistic = "Sum", extended_statistic = null
        dimensions  = { EventSourceMappingUUID = uuid }, comparison = "GreaterThanOrEqualToThreshold", threshold = 1
        description = "Stream mapping of ${f} parked records in its on-failure destination: replay them (docs/operations.md)"
        period      = local.common.period, evaluation_periods = 1, treat_missing_data = "notBreaching", actions = true
      }
    },
    {
      for f, uuid in var.stream_mapping_uuids : "mapping-dropped-${f}" => {
        namespace   = "AWS/Lambda", metric = "DroppedEventCount", statistic = "Sum", extended_statistic = null
        dimensions  = { EventSourceMappingUUID = uuid }, comparison = "GreaterThanOrEqualToThreshold", threshold = 1
        description = "Stream mapping of ${f} dropped records without delivering them to its on-failure destination"
        period      = local.common.period, evaluation_periods = 1, treat_missing_data = "notBreaching", actions = true
      }
    },
    {
      for f in var.stream_function_names : "destination-delivery-failures-${f}" => {
        namespace   = "AWS/Lambda", metric = "DestinationDeliveryFailures", statistic = "Sum", extended_statistic = null
        dimensions  = { FunctionName = f }, comparison = "GreaterThanOrEqualToThreshold", threshold = 1
        description = "Lambda could not write ${f}'s failed batches to the on-failure destination (permissions, KMS, bucket policy)"
        period      = local.common.period, evaluation_periods = 1, treat_missing_data = "notBreaching", actions = true
      }
    },
    var.canary == null ? {} : {
      "firehose-freshness" = {
        namespace   = "AWS/Firehose", metric = "DeliveryToS3.DataFreshness", statistic = "Maximum", extended_statistic = null
        dimensions  = { DeliveryStreamName = var.delivery_stream_name }, comparison = "GreaterThanOrEqualToThreshold", threshold = local.canary_period
        description = "Firehose holds an audit record older than ${var.canary.window_minutes} min that is not in S3 yet"
        period      = local.common.period, evaluation_periods = 1, treat_missing_data = "notBreaching", actions = true
      }
    },
  )

  simple_alarms = merge(
    {
      for f in var.function_names : "lambda-errors-${f}" => {
        namespace  = "AWS/Lambda", metric = "Errors", statistic = "Sum", extended_statistic = null
        dimensions = { FunctionName = f }, comparison = "GreaterThanOrEqualToThreshold"
        threshold  = var.thresholds.lambda_errors, description = "Lambda ${f} raised errors"
      }
    },
    {
      for f in var.function_names : "lambda-throttles-${f}" => {
        namespace  = "AWS/Lambda", metric = "Throttles", statistic = "Sum", extended_statistic = null
        dimensions = { FunctionName = f }, comparison = "GreaterThanOrEqualToThreshold"
        threshold  = var.thresholds.lambda_throttles, description = "Lambda ${f} was throttled"
      }
    },
    {
      for f in var.stream_function_names : "iterator-age-${f}" => {
        namespace  = "AWS/Lambda", metric = "IteratorAge", statistic = "Maximum", extended_statistic = null
        dimensions = { FunctionName = f }, comparison = "GreaterThanOrEqualToThreshold"
        threshold  = var.thresholds.iterator_age_ms, description = "Stream consumer ${f} falls behind the table's stream"
      }
    },
    {
      "api-5xx" = {
        namespace  = "AWS/ApiGateway", metric = "5XXError", statistic = "Sum", extended_statistic = null
        dimensions = { ApiName = var.api_name, Stage = var.api_stage_name }, comparison = "GreaterThanOrEqualToThreshold"
        threshold  = var.thresholds.api_5xx, description = "API answered with server errors"
      }
      "api-latency-p99" = {
        namespace  = "AWS/ApiGateway", metric = "Latency", statistic = null, extended_statistic = "p99"
        dimensions = { ApiName = var.api_name, Stage = var.api_stage_name }, comparison = "GreaterThanOrEqualToThreshold"
        threshold  = var.thresholds.api_latency_p99_ms, description = "API p99 latency above target"
      }
      "dynamodb-throttles" = {
        namespace  = "AWS/DynamoDB", metric = "ThrottledRequests", statistic = "Sum", extended_statistic = null
        dimensions = { TableName = var.table_name }, comparison = "GreaterThanOrEqualToThreshold"
        threshold  = var.thresholds.dynamodb_throttles, description = "DynamoDB throttled requests"
      }
      "firehose-delivery" = {
        namespace  = "AWS/Firehose", metric = "DeliveryToS3.Success", statistic = "Minimum", extended_statistic = null
        dimensions = { DeliveryStreamName = var.delivery_stream_name }, comparison = "LessThanThreshold"
        threshold  = 1, description = "Audit delivery to S3 failed"
      }
    },
    {
      for q in var.dlq_names : "dlq-depth-${q}" => {
        namespace  = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible", statistic = "Maximum", extended_statistic = null
        dimensions = { QueueName = q }, comparison = "GreaterThanOrEqualToThreshold"
        threshold  = var.thresholds.dlq_depth, description = "Dead-letter queue ${q} holds failed events to replay"
      }
    },
  )

  # Every alarm with its missing-data treatment, period and whether it notifies. The simple alarms
  # watch metrics that have datapoints only when something happens (an error, a throttle, a
  # message): absence is not breaching.
  alarms = merge(
    {
      for k, a in local.simple_alarms : k => merge(a, {
        period             = local.common.period, evaluation_periods = local.common.evaluation_periods
        treat_missing_data = "notBreaching", actions = true
      })
    },
    local.stall_alarms,
    local.mapping_alarms,
  )
}

resource "aws_sns_topic" "this" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  count = var.email == null ? 0 : 1

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = var.email
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  dimensions          = each.value.dimensions
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = each.value.actions ? [aws_sns_topic.this.arn] : []
  ok_actions          = each.value.actions ? [aws_sns_topic.this.arn] : []
}

# The end-to-end audit alarm: a canary heartbeat's audit record has not reached S3 in time. Over each
# window it is 1 (ALARM) when no heartbeat reached Firehose (the table, stream, mapping or consumer is
# stuck; FILL turns the missing datapoint into 0) or when Firehose held a record older than the window
# (it is not writing to S3). DeliveryToS3.DataFreshness is the age of the oldest record not yet in S3,
# so while it stays below the window, every heartbeat that reached Firehose is in S3 within it. No
# datapoint at all is breaching too. (Metric math, not a composite alarm: one alarm, and moto can
# store it.)
resource "aws_cloudwatch_metric_alarm" "audit_canary" {
  count = var.canary == null ? 0 : 1

  alarm_name          = "${var.name_prefix}-audit-canary"
  alarm_description   = "No audit canary heartbeat reached S3 within ${var.canary.window_minutes} min: audit records are not being delivered"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]

  metric_query {
    id          = "late"
    expression  = "IF(FILL(delivered, 0) < 1 OR FILL(freshness, 0) >= ${local.canary_period}, 1, 0)"
    label       = "Canary heartbeat not in S3 within the window"
    return_data = true
  }

  metric_query {
    id = "delivered"

    metric {
      namespace   = var.canary.namespace
      metric_name = var.canary.metric
      dimensions  = var.canary.dimensions
      period      = local.canary_period
      stat        = "Sum"
    }
  }

  metric_query {
    id = "freshness"

    metric {
      namespace   = "AWS/Firehose"
      metric_name = "DeliveryToS3.DataFreshness"
      dimensions  = { DeliveryStreamName = var.delivery_stream_name }
      period      = local.canary_period
      stat        = "Maximum"
    }
  }
}
