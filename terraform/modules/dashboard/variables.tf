variable "name_prefix" {
  description = "Prefix of every name (project and stage): the dashboard is <name_prefix>-overview (the deploy roles may manage <project>-<stage>-* dashboards)."
  type        = string
}

variable "api_name" {
  description = "REST API name (ApiName dimension)."
  type        = string
}

variable "api_stage_name" {
  description = "API stage name (Stage dimension)."
  type        = string
}

variable "routes" {
  description = "Route of each routed function, by manifest name (method, path): one line per route on the API graphs (the functions module's routes output)."
  type        = map(object({ method = string, path = string }))
}

variable "function_names" {
  description = "Deployed function name by manifest name: one line per function on the Lambda graphs."
  type        = map(string)
}

variable "provisioned_aliases" {
  description = "Alias with provisioned concurrency, by function name (ProvisionedConcurrency* metrics carry Resource = <function>:<alias>)."
  type        = map(string)
  default     = {}
}

variable "stream_function_names" {
  description = "Functions fed by the table's stream (IteratorAge)."
  type        = list(string)
  default     = []
}

variable "stream_mapping_uuids" {
  description = "Event source mapping UUID of each stream consumer, by function name (OnFailureDestinationDeliveredEventCount and DroppedEventCount carry EventSourceMappingUUID)."
  type        = map(string)
  default     = {}
}

variable "canary" {
  description = "The audit canary's custom metric (namespace, metric, dimensions): heartbeats whose audit record reached Firehose. null: no canary graph."
  type = object({
    namespace  = string
    metric     = string
    dimensions = map(string)
  })
  default = null
}

variable "table_name" {
  description = "DynamoDB table name."
  type        = string
}

variable "index_names" {
  description = "The table's global secondary indexes (consumed and throttled capacity per index)."
  type        = list(string)
  default     = []
}

variable "delivery_stream_name" {
  description = "Audit Firehose delivery stream name."
  type        = string
}

variable "queue_names" {
  description = "Queues whose depth and oldest message are graphed: every dead-letter queue and work queue."
  type        = list(string)
  default     = []
}

variable "topic_names" {
  description = "SNS topics whose deliveries (NumberOfNotificationsDelivered / Failed) are graphed, e.g. webhook fan-out topics."
  type        = list(string)
  default     = []
}

variable "alarm_names" {
  description = "Every alarm of the stage: each appears in an alarm status widget, so the dashboard shows what pages."
  type        = list(string)
}

variable "burn_rate_alarms" {
  description = "SLO window alarms (the slo module's burn_rate_alarms): each is graphed with its threshold."
  type = map(object({
    slo    = string
    pair   = string
    period = number
    burn   = number
  }))
  default = {}
}

variable "period_seconds" {
  description = "Period of the graphs, in seconds."
  type        = number
  default     = 300
}
