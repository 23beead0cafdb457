variable "name_prefix" {
  description = "Prefix of every name (project and stage), e.g. items-dev: the REST API's own name, and the prefix of its access log group, account role, usage plans and keys."
  type        = string
}

variable "description" {
  description = "API description."
  type        = string
  default     = "Partner items API"
}

variable "stage_name" {
  description = "API Gateway stage name (the deployment stage, e.g. dev)."
  type        = string
}

variable "routes" {
  description = "Route of each function by function name: method, path, request_model (schema name or null), api_key_required (true: the method runs the authorizer and meters the key it names)."
  type = map(object({
    method           = string
    path             = string
    request_model    = optional(string)
    api_key_required = optional(bool, true)
  }))
}

variable "targets" {
  description = "Integration target of each routed function: function_name, alias_name and invoke_arn of its live alias, and the function's timeout in seconds (which must end before the integration's)."
  type = map(object({
    function_name = string
    alias_name    = string
    invoke_arn    = string
    timeout       = number
  }))
}

variable "schemas" {
  description = "JSON Schema (Draft-04) text by model name, from shared/apikit/schemas/<name>.json."
  type        = map(string)
}

variable "cors_origins" {
  description = "Allowed CORS origins: OPTIONS preflight on every routed resource echoes an allowed Origin (\"*\" allows any); gateway responses carry the first one (empty: no CORS at all)."
  type        = list(string)
  default     = []
}

variable "cors_max_age_seconds" {
  description = "Access-Control-Max-Age of preflight responses: how long browsers may cache them."
  type        = number
  default     = 600

  validation {
    condition     = var.cors_max_age_seconds >= 0 && floor(var.cors_max_age_seconds) == var.cors_max_age_seconds
    error_message = "cors_max_age_seconds must be a whole number of seconds, 0 or more."
  }
}

variable "throttle" {
  description = "Stage-wide default method throttling (requests per second and burst)."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
}

variable "usage_plans" {
  description = "Usage plan per tier: throttle (rate_limit, burst_limit) and quota (limit, period DAY|WEEK|MONTH)."
  type = map(object({
    throttle = object({ rate_limit = number, burst_limit = number })
    quota    = object({ limit = number, period = string })
  }))
}

variable "partners" {
  description = "Each partner by partner id: its usage plan (a key of usage_plans) and its API keys by name, each with its scope (read-write or read-only). Every key gets an API key in the partner's plan."
  type = map(object({
    usage_plan = string
    keys       = map(string)
  }))
}

variable "authorizer" {
  description = "The Lambda REQUEST authorizer of every keyed method: function_name, alias_name and invoke_arn of its live alias, and its identity_source (e.g. method.request.header.x-api-key)."
  type = object({
    function_name   = string
    alias_name      = string
    invoke_arn      = string
    identity_source = string
  })
}

variable "authorizer_ttl_seconds" {
  description = "How long API Gateway caches the authorizer's answer per identity source (the key), 0-3600 seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.authorizer_ttl_seconds >= 0 && var.authorizer_ttl_seconds <= 3600
    error_message = "authorizer_ttl_seconds must be between 0 and 3600."
  }
}

variable "logging_level" {
  description = "Execution logging level of every method: OFF, ERROR or INFO."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.logging_level)
    error_message = "logging_level must be OFF, ERROR or INFO."
  }
}

variable "metrics_enabled" {
  description = "Publish per-method CloudWatch metrics."
  type        = bool
  default     = true
}

variable "integration_timeout_ms" {
  description = "Integration timeout in milliseconds (50-29000). Every routed function's timeout must be shorter, so that a function never writes after API Gateway has answered 504."
  type        = number
  default     = 29000

  validation {
    condition     = var.integration_timeout_ms >= 50 && var.integration_timeout_ms <= 29000
    error_message = "integration_timeout_ms must be 50-29000 (API Gateway REST's integration timeout)."
  }
}

variable "log_retention_days" {
  description = "Retention of the access log group, in days."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the access log group."
  type        = string
}

variable "manage_account_role" {
  description = "Manage API Gateway's account-wide CloudWatch role (only one stage per account and region should)."
  type        = bool
  default     = false
}

variable "custom_domain" {
  description = "Optional custom domain: domain_name, certificate_arn (ACM, same region), base_path (optional). TLS 1.2 is enforced."
  type = object({
    domain_name     = string
    certificate_arn = string
    base_path       = optional(string)
  })
  default = null
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary every IAM role of this module carries (null: none)."
  type        = string
  default     = null
}
