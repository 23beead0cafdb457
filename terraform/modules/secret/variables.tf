variable "name" {
  description = "SSM parameter name, e.g. /items/dev/cursor-secret."
  type        = string
}

variable "description" {
  description = "What the secret is for."
  type        = string
  default     = "HMAC key that signs pagination cursors"
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the SecureString."
  type        = string
}
