# Multi-window, multi-burn-rate alerting on the stage's SLOs (the Site Reliability Workbook's method,
# for a 30-day budget). A burn rate is the share of bad requests over a window divided by the error
# budget (100% - objective): at 1 the budget lasts exactly 30 days. Each window pair alarms when BOTH
# its long window (is it serious?) and its short window (is it still happening?) burn faster than the
# pair's rate, so a page stops soon after the cause does:
#
#   page    1 h  and 5 min  at 14.4x   2% of the 30-day budget gone in one hour
#   page    6 h  and 30 min at 6x      5% gone in six hours
#   ticket  1 d  and 2 h    at 3x      10% gone in a day
#
# Bad requests: availability counts API Gateway's 5XXError against Count; latency counts the requests
# slower than latency_ms, from Latency's percentile rank PR(:latency_ms) (the share at or below it).
# Each window is one metric-math alarm whose value is the burn rate itself (no actions), and each pair
# a composite alarm over the two that notifies. Windows stay within CloudWatch's one-day evaluation
# range for a single period.

locals {
  pairs = {
    "page-1h"   = { long = 3600, short = 300, burn = 14.4, severity = "page" }
    "page-6h"   = { long = 21600, short = 1800, burn = 6, severity = "page" }
    "ticket-1d" = { long = 86400, short = 7200, burn = 3, severity = "ticket" }
  }

  objectives = {
    availability = {
      budget = format("%.6g", (100 - var.objectives.availability_percent) / 100) # 0.001, not 0.000999...
      what   = "${var.objectives.availability_percent}% of requests without a 5XX"
    }
    latency = {
      budget = format("%.6g", (100 - var.objectives.latency_percent) / 100)
      what   = "${var.objectives.latency_percent}% of requests within ${var.objectives.latency_ms} ms"
    }
  }

  dimensions = { ApiName = var.api_name, Stage = var.api_stage_name }

  windows = merge([
    for slo, o in local.objectives : merge([
      for pair, p in local.pairs : {
        for which in ["long", "short"] : "slo-${slo}-${pair}-${which}" => {
          slo = slo, pair = pair, period = p[which], burn = p.burn, budget = o.budget, what = o.what
        }
      }
    ]...)
  ]...)
}

resource "aws_cloudwatch_metric_alarm" "window" {
  for_each = local.windows

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = "Burn rate of the ${each.value.slo} SLO (${each.value.what}) over ${each.value.period / 60} min is at least ${each.value.burn}x; one half of ${var.name_prefix}-slo-${each.value.slo}-${each.value.pair} (docs/operations.md#slos)"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = each.value.burn
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [] # only the composite over a pair notifies

  metric_query {
    id          = "burn"
    label       = "${each.value.slo} burn rate (${each.value.period / 60} min)"
    return_data = true
    expression = each.value.slo == "availability" ? (
      "IF(FILL(requests, 0) > 0, FILL(errors, 0) / requests, 0) / ${each.value.budget}"
      ) : (
      "IF(FILL(requests, 0) > 0, (100 - FILL(fast, 100)) / 100, 0) / ${each.value.budget}"
    )
  }

  metric_query {
    id = "requests"

    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions  = local.dimensions
      period      = each.value.period
      stat        = "Sum"
    }
  }

  dynamic "metric_query" {
    for_each = each.value.slo == "availability" ? ["errors"] : []
    content {
      id = metric_query.value

      metric {
        namespace   = "AWS/ApiGateway"
        metric_name = "5XXError"
        dimensions  = local.dimensions
        period      = each.value.period
        stat        = "Sum"
      }
    }
  }

  dynamic "metric_query" {
    for_each = each.value.slo == "latency" ? ["fast"] : []
    content {
      id = metric_query.value

      metric {
        namespace   = "AWS/ApiGateway"
        metric_name = "Latency"
        dimensions  = local.dimensions
        period      = each.value.period
        stat        = "PR(:${var.objectives.latency_ms})"
      }
    }
  }
}

resource "aws_cloudwatch_composite_alarm" "burn" {
  for_each = { for k in setproduct(keys(local.objectives), keys(local.pairs)) : "slo-${k[0]}-${k[1]}" => { slo = k[0], pair = k[1] } }

  alarm_name        = "${var.name_prefix}-${each.key}"
  alarm_description = "${upper(local.pairs[each.value.pair].severity)}: the ${each.value.slo} SLO (${local.objectives[each.value.slo].what}) burns its 30-day budget at ${local.pairs[each.value.pair].burn}x or faster over both ${local.pairs[each.value.pair].long / 60} and ${local.pairs[each.value.pair].short / 60} min (docs/operations.md#slos)"
  alarm_rule        = "ALARM(\"${aws_cloudwatch_metric_alarm.window["${each.key}-long"].alarm_name}\") AND ALARM(\"${aws_cloudwatch_metric_alarm.window["${each.key}-short"].alarm_name}\")"
  alarm_actions     = [var.topic_arn]
  ok_actions        = [var.topic_arn]
}
