output "topic_arn" {
  description = "ARN of the item events FIFO topic."
  value       = aws_sns_topic.item_events.arn
}

output "topic_name" {
  description = "Name of the item events FIFO topic."
  value       = aws_sns_topic.item_events.name
}
