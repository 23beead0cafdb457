variable "project" {
  description = "Project name, as in the stages' root module: deploy roles may touch only <project>-<stage>-* resources."
  type        = string
  default     = "items"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.project))
    error_message = "project must be 2-16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  description = "Region of the state bucket and its key (the stages' own regions come from their stage files)."
  type        = string
}

variable "stages" {
  description = "Stages deployed from this account: one plan role and one deploy role each (each needs terraform/stages/<stage>.json). An account per stage takes one."
  type        = list(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = length(var.stages) > 0 && alltrue([for s in var.stages : !contains(["local", "localstack", "default"], s)])
    error_message = "stages must name AWS stages: local, localstack and default never deploy to AWS."
  }
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose workflows may assume the roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "main_branch" {
  description = "Branch whose pushes deploy and whose scheduled drift checks plan."
  type        = string
  default     = "main"
}

variable "admin_principal_arns" {
  description = "Break-glass administrators (IAM role or user ARNs): full access to the state bucket and its key. The principal that applies this bootstrap must be one of them."
  type        = list(string)

  validation {
    condition     = length(var.admin_principal_arns) > 0 && alltrue([for a in var.admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", a))])
    error_message = "admin_principal_arns needs at least one IAM role or user ARN."
  }
}

variable "state_bucket_name" {
  description = "Name of the state bucket; null means <project>-tfstate-<account>-<region>."
  type        = string
  default     = null
}

variable "state_key" {
  description = "Key of each stage's state under <workspace_key_prefix>/<stage>/ (the S3 backend's key)."
  type        = string
  default     = "items/terraform.tfstate"
}

variable "workspace_key_prefix" {
  description = "The S3 backend's workspace_key_prefix: a stage's state lives at <prefix>/<stage>/<state_key>."
  type        = string
  default     = "stages"
}

variable "noncurrent_version_days" {
  description = "Days a replaced state version is kept (every apply writes one) before it expires."
  type        = number
  default     = 90
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the state key is deleted after a destroy (7-30 days)."
  type        = number
  default     = 30
}

variable "github_oidc_provider_arn" {
  description = "ARN of an existing token.actions.githubusercontent.com OIDC provider in the account (an account holds one per URL); null creates it."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra default tags for every bootstrap resource."
  type        = map(string)
  default     = {}
}
