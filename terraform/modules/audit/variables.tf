variable "name_prefix" {
  description = "Prefix of every name (project and stage), e.g. items-dev."
  type        = string
}

variable "stage_name" {
  description = "Stage name; partitions the log (audit/stage=<stage_name>/YYYY/MM/DD/HH/)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the buckets, the delivery stream and its log group."
  type        = string
}

variable "compression" {
  description = "Firehose compression: GZIP on AWS; UNCOMPRESSED where the target ignores it (moto)."
  type        = string
  default     = "GZIP"

  validation {
    condition     = contains(["GZIP", "UNCOMPRESSED", "ZIP", "Snappy", "HADOOP_SNAPPY"], var.compression)
    error_message = "compression must be one of GZIP, UNCOMPRESSED, ZIP, Snappy, HADOOP_SNAPPY."
  }
}

variable "buffering_size_mb" {
  description = "Firehose buffer size in MiB before delivery (1-128)."
  type        = number
  default     = 5
}

variable "buffering_interval_seconds" {
  description = "Firehose buffer interval in seconds before delivery (0-900)."
  type        = number
  default     = 300
}

variable "lifecycle_rules" {
  description = "Audit log lifecycle: days to STANDARD_IA, days to expiry, days to expire noncurrent versions; null: no lifecycle configuration (ephemeral stages)."
  type = object({
    transition_ia_days         = number
    expiration_days            = number
    noncurrent_expiration_days = number
  })
  default = { transition_ia_days = 30, expiration_days = 400, noncurrent_expiration_days = 30 }
}

variable "object_lock" {
  description = "Optional Object Lock default retention (mode GOVERNANCE or COMPLIANCE, days); only at bucket creation."
  type = object({
    mode = string
    days = number
  })
  default = null
}

variable "force_destroy" {
  description = "Let destroy delete a non-empty bucket (throwaway stages only)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the delivery stream's error log group, in days."
  type        = number
  default     = 30
}

variable "failure_writer_role_arns" {
  description = "Roles of the stream consumers whose mappings send failed batches to the failure bucket: the only principals that may write there."
  type        = list(string)
  default     = []
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary every IAM role of this module carries (null: none)."
  type        = string
  default     = null
}
