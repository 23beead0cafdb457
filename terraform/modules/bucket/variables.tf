variable "name" {
  description = "Bucket name (globally unique: callers add account and region)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for default encryption (SSE-KMS with a bucket key)."
  type        = string
}

variable "force_destroy" {
  description = "Let destroy delete a non-empty bucket (throwaway stages, reproducible contents)."
  type        = bool
  default     = false
}

variable "lifecycle_rules" {
  description = "Lifecycle, null: none (ephemeral stages). Two Enabled rules: abort incomplete multipart uploads after abort_incomplete_upload_days (every object), and rule id on key prefix (null: every object) with optional days to STANDARD_IA, to expiry, and to expire noncurrent versions (keeping newer_noncurrent_versions)."
  type = object({
    id                           = string
    prefix                       = optional(string)
    transition_ia_days           = optional(number)
    expiration_days              = optional(number)
    noncurrent_expiration_days   = optional(number)
    newer_noncurrent_versions    = optional(number)
    abort_incomplete_upload_days = optional(number, 7)
  })
  default = null

  validation {
    condition     = try(var.lifecycle_rules.id, "") != "abort-incomplete-uploads"
    error_message = "lifecycle_rules.id must not be abort-incomplete-uploads (the module's own rule)."
  }
}

variable "object_lock" {
  description = "Optional Object Lock default retention (mode GOVERNANCE or COMPLIANCE, days); only at bucket creation."
  type = object({
    mode = string
    days = number
  })
  default = null

  validation {
    condition     = var.object_lock == null || contains(["GOVERNANCE", "COMPLIANCE"], try(var.object_lock.mode, ""))
    error_message = "object_lock.mode must be GOVERNANCE or COMPLIANCE."
  }
}

variable "tags" {
  description = "Tags of the bucket (merged with the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "writer_role_arns" {
  description = "IAM roles that alone may write objects (s3:PutObject), enforced by a Deny in the bucket policy; empty: writers are governed by their IAM policies only."
  type        = list(string)
  default     = []
}
