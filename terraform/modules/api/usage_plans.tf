# Partners: one usage plan per tier, one API key per named key of each partner, and each key's place
# in its partner's plan. The key is a credential that comes and goes; the partner id is the tenant.

locals {
  # "partner/key" => what the key is: its partner, name, scope and plan.
  api_keys = merge([
    for partner, p in var.partners : {
      for name, scope in p.keys : "${partner}/${name}" => {
        partner    = partner
        name       = name
        scope      = scope
        usage_plan = p.usage_plan
      }
    }
  ]...)
}

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
  for_each = local.api_keys

  name        = "${var.name_prefix}-${each.value.partner}-${each.value.name}"
  description = "Partner ${each.value.partner}, key ${each.value.name} (${each.value.scope}, plan ${each.value.usage_plan})"
  enabled     = true

  lifecycle {
    precondition {
      condition     = contains(keys(var.usage_plans), each.value.usage_plan)
      error_message = "Partner ${each.value.partner} names usage plan ${each.value.usage_plan}, which the stage does not define."
    }
  }
}

resource "aws_api_gateway_usage_plan_key" "this" {
  for_each = local.api_keys

  key_id        = aws_api_gateway_api_key.this[each.key].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[each.value.usage_plan].id
}
