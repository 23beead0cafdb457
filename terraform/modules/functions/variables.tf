variable "name_prefix" {
  description = "Prefix of every name (project and stage), e.g. items-dev."
  type        = string
}

variable "manifests" {
  description = "Function manifests by function name: the decoded functions/<name>/function.json files (design.md section 1)."
  type        = any
}

variable "artifacts" {
  description = "Each function's code by function name: the local zip (path, for its hash) and the S3 object it was uploaded to (bucket, key, version_id)."
  type = map(object({
    path       = string
    bucket     = string
    key        = string
    version_id = string
  }))
}

variable "layer_arns" {
  description = "Layer version ARNs attached to every function (empty when the layer is bundled)."
  type        = list(string)
  default     = []
}

variable "architecture" {
  description = "Instruction set the artifacts were built for."
  type        = string
  default     = "x86_64"
}

variable "destination_arns" {
  description = "ARN of each symbolic resource a stream mapping may name as on_failure, from the created resource (the mapping waits for it; resource_arns may be known earlier, for IAM)."
  type        = map(string)
  default     = {}
}

variable "resource_arns" {
  description = "ARNs of each symbolic resource that manifests name in permissions (table, table_indexes, table_stream, cursor_secret, audit_delivery_stream, audit_dlq)."
  type        = map(list(string))
}

variable "late_resource_arns" {
  description = "ARNs of symbolic resources created after the functions (usage_plans: each plan and its /usage, for GET /usage). Permissions on them form a second inline policy per function (<name>-late) that the function's creation does not wait for, which breaks the cycle function -> API stage -> usage plan."
  type        = map(list(string))
  default     = {}
}

variable "environment_values" {
  description = "Value of each environment name a manifest may ask for (TABLE_NAME, CURSOR_SECRET_ID, CURSOR_KEY_CACHE_SECONDS, AUDIT_DELIVERY_STREAM)."
  type        = map(string)
}

variable "common_environment" {
  description = "Environment every function gets (STAGE, LOG_LEVEL, CORS_ALLOWED_ORIGINS, POWERTOOLS_SERVICE_NAME, AWS_XRAY_CONTEXT_MISSING, SERVICE_VERSION)."
  type        = map(string)
  default     = {}
}

variable "concurrency" {
  description = "Reserved (null = unreserved) and provisioned (0 = none) concurrency, and SnapStart (for manifests that declare snap_start: true): defaults plus per-function overrides."
  type = object({
    defaults = object({
      reserved_concurrency    = optional(number)
      provisioned_concurrency = optional(number, 0)
      snap_start              = optional(bool, false)
    })
    overrides = optional(map(object({
      reserved_concurrency    = optional(number)
      provisioned_concurrency = optional(number)
      snap_start              = optional(bool)
    })), {})
  })
  default = { defaults = { reserved_concurrency = null, provisioned_concurrency = 0, snap_start = false } }
}

variable "log_retention_days" {
  description = "Retention of each function's log group, in days."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "Stage KMS key: log groups, environment variables, DLQs, and the functions' KMS grants."
  type        = string
}

variable "dlq_retention_seconds" {
  description = "Message retention of the asynchronous functions' dead-letter queues (max 14 days)."
  type        = number
  default     = 1209600
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary every IAM role of this module carries (null: none)."
  type        = string
  default     = null
}

variable "topic_arns" {
  description = "SNS topics that queue consumers (manifest events.sqs.topic) subscribe to, by symbolic name."
  type        = map(string)
  default     = {}
}
