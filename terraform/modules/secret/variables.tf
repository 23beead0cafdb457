variable "name" {
  description = "Secret name, e.g. items-dev/cursor-key."
  type        = string
}

variable "description" {
  description = "What the secret is for."
  type        = string
  default     = "HMAC key that signs pagination cursors (AWSCURRENT signs, AWSPREVIOUS verifies)"
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secret's versions."
  type        = string
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored (7-30), or 0 to delete at once (throwaway stages: the name is free again for the next apply)."
  type        = number
  default     = 7

  validation {
    condition     = var.recovery_window_days == 0 || (var.recovery_window_days >= 7 && var.recovery_window_days <= 30)
    error_message = "recovery_window_days must be 0 or 7-30."
  }
}
