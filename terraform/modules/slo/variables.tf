variable "name_prefix" {
  description = "Prefix of every name (project and stage), e.g. items-prod."
  type        = string
}

variable "api_name" {
  description = "REST API name (ApiName dimension of API Gateway's metrics)."
  type        = string
}

variable "api_stage_name" {
  description = "API stage name (Stage dimension)."
  type        = string
}

variable "topic_arn" {
  description = "SNS topic the burn-rate alarms notify (the alarms module's)."
  type        = string
}

variable "objectives" {
  description = "The stage's SLOs over a rolling 30 days: availability_percent (requests without a 5XX), and latency_percent of requests answered within latency_ms."
  type = object({
    availability_percent = number
    latency_ms           = number
    latency_percent      = number
  })

  validation {
    condition     = var.objectives.availability_percent > 90 && var.objectives.availability_percent < 100 && var.objectives.latency_percent > 50 && var.objectives.latency_percent < 100 && var.objectives.latency_ms > 0
    error_message = "Objectives are percentages below 100 (availability above 90, latency above 50) and a positive latency threshold."
  }
}
