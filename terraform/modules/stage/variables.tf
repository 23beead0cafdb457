variable "settings" {
  description = "A decoded stages/<stage>.json; the meaning of each field is in stages/stage.schema.json."
  type = object({
    region                   = string
    emulated                 = bool
    bundle_layer             = optional(bool, false)
    s3_lifecycle             = optional(bool, true)
    log_level                = string
    log_retention_days       = number
    kms_deletion_window_days = number
    table = object({
      billing_mode        = string
      pitr                = bool
      deletion_protection = bool
      autoscaling = object({
        read  = object({ min = number, max = number, target_utilization = number })
        write = object({ min = number, max = number, target_utilization = number })
      })
      replicas = list(object({
        region_name = string
        kms_key_arn = optional(string)
      }))
    })
    functions = object({
      defaults = object({
        reserved_concurrency    = optional(number)
        provisioned_concurrency = optional(number, 0)
        snap_start              = optional(bool, false)
      })
      overrides = optional(map(object({
        reserved_concurrency    = optional(number)
        provisioned_concurrency = optional(number)
        snap_start              = optional(bool)
      })), {})
    })
    api = object({
      cors_origins        = list(string)
      throttle            = object({ rate_limit = number, burst_limit = number })
      logging_level       = string
      metrics_enabled     = bool
      manage_account_role = bool
      custom_domain = object({
        domain_name     = string
        certificate_arn = string
        base_path       = optional(string)
      })
      authorizer_ttl_seconds = number
    })
    usage_plans = map(object({
      throttle = object({ rate_limit = number, burst_limit = number })
      quota    = object({ limit = number, period = string })
    }))
    partners = map(object({
      usage_plan = string
      keys       = map(string)
    }))
    alarms = object({
      email              = string
      period_seconds     = number
      evaluation_periods = number
      lambda_errors      = number
      lambda_throttles   = number
      api_5xx            = number
      api_latency_p99_ms = number
      dynamodb_throttles = number
      iterator_age_ms    = number
      dlq_depth          = number
    })
    audit = object({
      compression                = string
      buffering_size_mb          = number
      buffering_interval_seconds = number
      transition_ia_days         = number
      expiration_days            = number
      noncurrent_expiration_days = number
      object_lock = object({
        mode = string
        days = number
      })
      force_destroy        = bool
      canary_alarm_minutes = number
    })
    cursor_key = object({
      cache_seconds        = number
      recovery_window_days = number
    })
    webhooks = optional(object({
      allow_loopback_http = optional(bool, false)
      first_retry_seconds = optional(number, 30)
    }), {})
    slo = optional(object({
      availability_percent = number
      latency_ms           = number
      latency_percent      = number
    }))
    tracing = optional(object({
      sdk            = optional(string, "xray")
      otel_layer_arn = optional(string)
    }), {})
    traffic = optional(object({
      requests_per_second     = number
      mix                     = map(number)
      item_size_bytes         = number
      items_per_page          = number
      items_stored            = number
      duration_ms             = number
      cold_start_percent      = number
      log_bytes_per_request   = number
      audit_compression_ratio = number
    }))
  })
}
