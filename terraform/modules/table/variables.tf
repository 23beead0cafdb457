variable "name" {
  description = "Table name (includes the stage)."
  type        = string
}

variable "spec" {
  description = "Key schema from shared/apikit/table.json: hash_key, range_key, attributes, global_secondary_indexes, ttl_attribute, stream_view_type."
  type = object({
    hash_key  = string
    range_key = string
    attributes = list(object({
      name = string
      type = string
    }))
    global_secondary_indexes = list(object({
      name            = string
      hash_key        = string
      range_key       = string
      projection_type = string
    }))
    ttl_attribute    = string
    stream_view_type = string
  })
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for server-side encryption."
  type        = string
}

variable "billing_mode" {
  description = "PAY_PER_REQUEST (on demand) or PROVISIONED."
  type        = string
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "provisioned_capacity" {
  description = "Read and write capacity units for PROVISIONED without autoscaling (table and each GSI)."
  type = object({
    read  = number
    write = number
  })
  default = { read = 5, write = 5 }
}

variable "autoscaling" {
  description = "Target-tracking autoscaling for PROVISIONED (table and GSIs): read/write min, max, target_utilization (percent). Null to disable."
  type = object({
    read  = object({ min = number, max = number, target_utilization = number })
    write = object({ min = number, max = number, target_utilization = number })
  })
  default = null
}

variable "pitr" {
  description = "Enable point-in-time recovery."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Enable deletion protection."
  type        = bool
  default     = false
}

variable "replicas" {
  description = "Global table replicas: region_name and optionally kms_key_arn (a key in that region)."
  type = list(object({
    region_name = string
    kms_key_arn = optional(string)
  }))
  default = []
}
