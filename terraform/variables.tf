variable "project" {
  description = "Project name: the first part of every resource name (<project>-<stage>-...)."
  type        = string
  default     = "items"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.project))
    error_message = "project must be 2-16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "artifact_dir" {
  description = "Directory written by scripts/build.py (holding manifest.json, layer.zip and functions/*.zip); null means build/lambda."
  type        = string
  default     = null
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of every IAM role the stage creates: the bootstrap's <project>-<stage>-boundary, which deploy roles must attach (scripts/_tf_aws.sh sets it from terraform/deploy.settings.json). null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra default tags for every resource (Project, Stage and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}
