# The stage's item events: an SNS FIFO topic that functions/webhook_fanout publishes every item change
# to (one message group per partner's item, so one item's events keep their order), and that any
# consumer subscribes to with a queue of its own (manifest events.sqs.topic = "item_events_topic").
resource "aws_sns_topic" "item_events" {
  name                        = "${var.name_prefix}-item-events.fifo"
  fifo_topic                  = true
  content_based_deduplication = false
  kms_master_key_id           = var.kms_key_arn
}
