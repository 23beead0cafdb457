output "topic_arn" {
  description = "SNS topic that receives every alarm."
  value       = aws_sns_topic.this.arn
}

output "alarm_names" {
  description = "Names of all alarms."
  value       = concat([for a in aws_cloudwatch_metric_alarm.this : a.alarm_name], aws_cloudwatch_metric_alarm.audit_canary[*].alarm_name)
}
