variable "name_prefix" {
  description = "Prefix of every name (project and stage), e.g. items-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the bucket and every artifact object."
  type        = string
}

variable "files" {
  description = "Artifacts to upload: object key => local path of the zip (written by scripts/build.py)."
  type        = map(string)
}

variable "noncurrent_expiration_days" {
  description = "Days after which superseded artifact versions expire; null: no lifecycle configuration (ephemeral stages)."
  type        = number
  default     = 30
}

variable "keep_noncurrent_versions" {
  description = "Superseded versions of each artifact kept regardless of age (rollback targets)."
  type        = number
  default     = 3
}
