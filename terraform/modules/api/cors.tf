# CORS: the preflight on every routed resource, and the headers gateway_responses.tf adds.

locals {
  # Headers on API Gateway's own error responses (gateway_responses.tf): the first allowed origin.
  cors_headers = length(var.cors_origins) == 0 ? {} : {
    "gatewayresponse.header.Access-Control-Allow-Origin"  = "'${var.cors_origins[0]}'"
    "gatewayresponse.header.Access-Control-Allow-Headers" = "'${local.cors_allow_headers}'"
    "gatewayresponse.header.Vary"                         = "'Origin'"
  }
  # Browser preflight: one OPTIONS method per routed resource, only when the stage allows origins.
  # A MOCK integration can map only static headers, so the allowed origin is echoed by the
  # integration response template (an override applied at most once, as API Gateway requires).
  cors_enabled       = length(var.cors_origins) > 0
  cors_wildcard      = contains(var.cors_origins, "*")
  cors_allow_headers = "Content-Type,X-Api-Key,Idempotency-Key,If-Match,X-Amz-Date,Authorization"
  cors_resources = !local.cors_enabled ? {} : {
    for p in distinct([for r in var.routes : r.path]) : p => join(",", concat(
      sort(distinct([for r in var.routes : upper(r.method) if r.path == p])), ["OPTIONS"]
    ))
  }
  cors_static_headers = merge(
    {
      "method.response.header.Access-Control-Allow-Headers" = "'${local.cors_allow_headers}'"
      "method.response.header.Access-Control-Max-Age"       = "'${var.cors_max_age_seconds}'"
      "method.response.header.Vary"                         = "'Origin'"
    },
    local.cors_wildcard ? { "method.response.header.Access-Control-Allow-Origin" = "'*'" } : {},
  )
  cors_origin_template = join("\n", [
    "#set($origin = $input.params('origin'))",
    "#if($origin == \"\")",
    "#set($origin = $input.params('Origin'))",
    "#end",
    "#set($allowed = ${jsonencode(var.cors_origins)})",
    "#set($match = \"\")",
    "#foreach($candidate in $allowed)",
    "#if($candidate == $origin)",
    "#set($match = $candidate)",
    "#end",
    "#end",
    "#if($match != \"\")",
    "#set($context.responseOverride.header.Access-Control-Allow-Origin = $match)",
    "#end",
  ])
}

# CORS preflight: browsers send OPTIONS without credentials or API keys, so these methods are open
# and answered by API Gateway itself (MOCK), never by a function.
resource "aws_api_gateway_method" "cors" {
  #checkov:skip=CKV2_AWS_53:A MOCK preflight has no body or parameters to validate.
  for_each = local.cors_resources

  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = local.resource_ids[each.key]
  http_method      = "OPTIONS"
  authorization    = "NONE"
  api_key_required = false
}

resource "aws_api_gateway_integration" "cors" {
  for_each = local.cors_resources

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_method.cors[each.key].resource_id
  http_method          = aws_api_gateway_method.cors[each.key].http_method
  type                 = "MOCK"
  passthrough_behavior = "WHEN_NO_MATCH"
  request_templates    = { "application/json" = jsonencode({ statusCode = 200 }) }
}

resource "aws_api_gateway_method_response" "cors" {
  for_each = local.cors_resources

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_method.cors[each.key].resource_id
  http_method = aws_api_gateway_method.cors[each.key].http_method
  status_code = "200"
  response_parameters = {
    "method.response.header.Access-Control-Allow-Methods" = false
    "method.response.header.Access-Control-Allow-Headers" = false
    "method.response.header.Access-Control-Max-Age"       = false
    "method.response.header.Access-Control-Allow-Origin"  = false
    "method.response.header.Vary"                         = false
  }
}

resource "aws_api_gateway_integration_response" "cors" {
  for_each = local.cors_resources

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_method.cors[each.key].resource_id
  http_method = aws_api_gateway_method.cors[each.key].http_method
  status_code = aws_api_gateway_method_response.cors[each.key].status_code
  response_parameters = merge(local.cors_static_headers, {
    "method.response.header.Access-Control-Allow-Methods" = "'${each.value}'"
  })
  response_templates = local.cors_wildcard ? {} : { "application/json" = local.cors_origin_template }

  depends_on = [aws_api_gateway_integration.cors]
}
