# Partners: one usage plan per tier, one API key per partner, and the key's place in its tier's plan.

resource "aws_api_gateway_usage_plan" "this" {
  for_each = var.usage_plans

  name        = "${var.name_prefix}-${each.key}"
  description = "Tier ${each.key} of stage ${var.stage_name}"

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = each.value.throttle.rate_limit
    burst_limit = each.value.throttle.burst_limit
  }

  quota_settings {
    limit  = each.value.quota.limit
    period = each.value.quota.period
  }
}

resource "aws_api_gateway_api_key" "this" {
  for_each = var.partners

  name        = "${var.name_prefix}-${each.key}"
  description = "Partner ${each.key} (${each.value} tier)"
  enabled     = true

  lifecycle {
    precondition {
      condition     = contains(keys(var.usage_plans), each.value)
      error_message = "Partner ${each.key} names usage plan ${each.value}, which the stage does not define."
    }
  }
}

resource "aws_api_gateway_usage_plan_key" "this" {
  for_each = var.partners

  key_id        = aws_api_gateway_api_key.this[each.key].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[each.value].id
}
