variable "name" {
  description = "SSM parameter name, e.g. /items/dev/cursor-secret."
  type        = string
}

variable "description" {
  description = "What the secret is for."
  type        = string
  default     = "HMAC key that signs pagination cursors"
}

variable "kms_key_id" {
  description = "KMS key (id, alias or ARN) that encrypts the SecureString."
  type        = string
}
