locals {
  common = {
    period             = var.thresholds.period_seconds
    evaluation_periods = var.thresholds.evaluation_periods
  }

  alarms = merge(
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
  period              = local.common.period
  evaluation_periods  = local.common.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}
