variable "name_prefix" {
  description = "Prefix of every name (<project>-<stage>)."
  type        = string
}

variable "kms_key_arn" {
  description = "Stage KMS key encrypting the topic's messages at rest."
  type        = string
}
