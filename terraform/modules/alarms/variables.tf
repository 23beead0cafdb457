variable "name_prefix" {
  description = "Prefix of every name (project and stage), e.g. items-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the alarm topic."
  type        = string
}

variable "email" {
  description = "Optional e-mail address subscribed to the alarm topic."
  type        = string
  default     = null
}

variable "function_names" {
  description = "Lambda function names to watch for errors and throttles."
  type        = list(string)
}

variable "stream_function_names" {
  description = "Stream-consuming function names to watch for iterator age."
  type        = list(string)
  default     = []
}

variable "api_name" {
  description = "REST API name (ApiName dimension)."
  type        = string
}

variable "api_stage_name" {
  description = "API stage name (Stage dimension)."
  type        = string
}

variable "table_name" {
  description = "DynamoDB table name."
  type        = string
}

variable "delivery_stream_name" {
  description = "Audit Firehose delivery stream name."
  type        = string
}

variable "dlq_names" {
  description = "Dead-letter queue names to watch for depth."
  type        = list(string)
  default     = []
}

variable "thresholds" {
  description = "Alarm period and evaluation periods, and the threshold of each alarm."
  type = object({
    period_seconds     = number
    evaluation_periods = number
    lambda_errors      = number
    lambda_throttles   = number
    api_5xx            = number
    api_latency_p99_ms = number
    dynamodb_throttles = number
    iterator_age_ms    = number
    dlq_depth          = number
  })
}

variable "stream_mapping_uuids" {
  description = "UUID of each stream consumer's event source mapping, by function name (its EventCount metrics are watched)."
  type        = map(string)
  default     = {}
}

variable "canary" {
  description = "The audit canary's metric (namespace, name, dimensions) emitted when a heartbeat's audit record reached Firehose, and the window in minutes within which one must have; null: no canary, stall or freshness alarms."
  type = object({
    namespace      = string
    metric         = string
    dimensions     = map(string)
    window_minutes = number
  })
  default = null
}
