output "alarm_names" {
  description = "Names of every SLO alarm: the burn-rate windows (no actions) and the composite alarms over each pair that notify."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.window : a.alarm_name],
    [for a in aws_cloudwatch_composite_alarm.burn : a.alarm_name],
  )
}

output "composite_alarm_names" {
  description = "The composite alarms that notify (one per SLO and window pair)."
  value       = [for a in aws_cloudwatch_composite_alarm.burn : a.alarm_name]
}

output "burn_rate_alarms" {
  description = "Each window alarm: name => slo, pair, period (seconds) and burn threshold, for graphs of the burn rates."
  value = {
    for k, w in local.windows : aws_cloudwatch_metric_alarm.window[k].alarm_name => {
      slo = w.slo, pair = w.pair, period = w.period, burn = w.burn
    }
  }
}
