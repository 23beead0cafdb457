data "aws_partition" "this" {}

locals {
  # Every path prefix of every route becomes a resource: /items/{id} needs /items and /items/{id}.
  segments = {
    for p in distinct([for r in var.routes : r.path]) : p => split("/", trimprefix(p, "/")) if p != "/"
  }
  prefixes = distinct(flatten([
    for p, segs in local.segments : [for i in range(1, length(segs) + 1) : "/${join("/", slice(segs, 0, i))}"]
  ]))
  resources = {
    for p in local.prefixes : p => {
      depth     = length(split("/", trimprefix(p, "/")))
      path_part = element(split("/", p), length(split("/", p)) - 1)
      parent    = join("/", slice(split("/", p), 0, length(split("/", p)) - 1))
    }
  }
  max_depth = max(0, [for r in local.resources : r.depth]...)

  resource_ids = merge(
    { "/" = aws_api_gateway_rest_api.this.root_resource_id },
    { for p, r in aws_api_gateway_resource.level1 : p => r.id },
    { for p, r in aws_api_gateway_resource.level2 : p => r.id },
    { for p, r in aws_api_gateway_resource.level3 : p => r.id },
    { for p, r in aws_api_gateway_resource.level4 : p => r.id },
  )

  # API Gateway model names are alphanumeric: item_create -> ItemCreate.
  model_names = { for k, _ in var.schemas : k => replace(title(replace(k, "_", " ")), " ", "") }

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

  message_template = "{\"message\":$context.error.messageString}"
  gateway_responses = {
    DEFAULT_4XX                  = { status = null, template = local.message_template }
    DEFAULT_5XX                  = { status = null, template = local.message_template }
    BAD_REQUEST_BODY             = { status = "400", template = "{\"message\":$context.error.messageString,\"validationErrors\":\"$context.error.validationErrorString\"}" }
    BAD_REQUEST_PARAMETERS       = { status = "400", template = local.message_template }
    MISSING_AUTHENTICATION_TOKEN = { status = "403", template = local.message_template }
    INVALID_API_KEY              = { status = "403", template = local.message_template }
    THROTTLED                    = { status = "429", template = local.message_template }
    QUOTA_EXCEEDED               = { status = "429", template = local.message_template }
    REQUEST_TOO_LARGE            = { status = "413", template = local.message_template }
    INTEGRATION_TIMEOUT          = { status = "504", template = local.message_template }
  }

  access_log_format = jsonencode({
    requestId          = "$context.requestId"
    extendedRequestId  = "$context.extendedRequestId"
    requestTime        = "$context.requestTime"
    sourceIp           = "$context.identity.sourceIp"
    userAgent          = "$context.identity.userAgent"
    apiKeyId           = "$context.identity.apiKeyId"
    httpMethod         = "$context.httpMethod"
    resourcePath       = "$context.resourcePath"
    path               = "$context.path"
    status             = "$context.status"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationLatency = "$context.integrationLatency"
    integrationStatus  = "$context.integrationStatus"
    errorMessage       = "$context.error.message"
    xrayTraceId        = "$context.xrayTraceId"
  })
}

resource "aws_api_gateway_rest_api" "this" {
  name           = var.name
  description    = var.description
  api_key_source = "HEADER"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Nested resources, one resource type per depth (for_each cannot refer to itself for parents).
resource "aws_api_gateway_resource" "level1" {
  for_each = { for p, r in local.resources : p => r if r.depth == 1 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = each.value.path_part

  lifecycle {
    precondition {
      condition     = local.max_depth <= 4
      error_message = "Route paths may have at most 4 segments; add a level to modules/api to go deeper."
    }
  }
}

resource "aws_api_gateway_resource" "level2" {
  for_each = { for p, r in local.resources : p => r if r.depth == 2 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.level1[each.value.parent].id
  path_part   = each.value.path_part
}

resource "aws_api_gateway_resource" "level3" {
  for_each = { for p, r in local.resources : p => r if r.depth == 3 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.level2[each.value.parent].id
  path_part   = each.value.path_part
}

resource "aws_api_gateway_resource" "level4" {
  for_each = { for p, r in local.resources : p => r if r.depth == 4 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.level3[each.value.parent].id
  path_part   = each.value.path_part
}

resource "aws_api_gateway_model" "this" {
  for_each = var.schemas

  rest_api_id  = aws_api_gateway_rest_api.this.id
  name         = local.model_names[each.key]
  description  = "From shared/apikit/schemas/${each.key}.json"
  content_type = "application/json"
  schema       = each.value
}

resource "aws_api_gateway_request_validator" "body" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "body-and-parameters"
  validate_request_body       = true
  validate_request_parameters = true
}

resource "aws_api_gateway_request_validator" "parameters" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "parameters"
  validate_request_body       = false
  validate_request_parameters = true
}

resource "aws_api_gateway_method" "this" {
  for_each = var.routes

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = local.resource_ids[each.value.path]
  http_method          = each.value.method
  authorization        = "NONE"
  api_key_required     = each.value.api_key_required
  request_validator_id = each.value.request_model == null ? aws_api_gateway_request_validator.parameters.id : aws_api_gateway_request_validator.body.id
  request_models       = each.value.request_model == null ? {} : { "application/json" = aws_api_gateway_model.this[each.value.request_model].name }
  request_parameters = {
    for s in regexall("\\{([^}+]+)\\+?\\}", each.value.path) : "method.request.path.${s[0]}" => true
  }
}

resource "aws_api_gateway_integration" "this" {
  for_each = var.routes

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_method.this[each.key].resource_id
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.targets[each.key].invoke_arn
  timeout_milliseconds    = var.integration_timeout_ms
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

resource "aws_api_gateway_gateway_response" "this" {
  for_each = local.gateway_responses

  rest_api_id         = aws_api_gateway_rest_api.this.id
  response_type       = each.key
  status_code         = each.value.status
  response_templates  = { "application/json" = each.value.template }
  response_parameters = local.cors_headers
}

# Replaced whenever a route, integration target, model, gateway response or CORS preflight changes.
resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Routes from functions/*/function.json"

  triggers = {
    redeployment = sha1(jsonencode([
      var.routes,
      { for k, t in var.targets : k => t.invoke_arn },
      var.schemas,
      local.gateway_responses,
      local.cors_headers,
      local.cors_resources,
      local.cors_static_headers,
      local.cors_origin_template,
      local.resource_ids,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_method.this,
    aws_api_gateway_integration.this,
    aws_api_gateway_gateway_response.this,
    aws_api_gateway_integration.cors,
    aws_api_gateway_integration_response.cors,
  ]
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# API Gateway's account-wide CloudWatch role (needed for execution logging); one stage per account
# and region should manage it.
resource "aws_iam_role" "cloudwatch" {
  count = var.manage_account_role ? 1 : 0

  name = "${var.name}-apigateway-cloudwatch"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  count = var.manage_account_role ? 1 : 0

  role       = aws_iam_role.cloudwatch[0].name
  policy_arn = "arn:${data.aws_partition.this.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_account_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn
  depends_on          = [aws_iam_role_policy_attachment.cloudwatch]
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Responses are per-partner and change on every write; caching would serve stale or foreign data.
  #checkov:skip=CKV2_AWS_51:Partners authenticate with API keys over TLS; backends are Lambda, so no client certificate is needed.
  #checkov:skip=CKV2_AWS_29:WAF is an account-level decision (web ACL association) outside this module; usage plans throttle per key.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  description          = "Stage ${var.stage_name}"
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = local.access_log_format
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose (per-partner, frequently written data).
  #checkov:skip=CKV_AWS_308:Caching is off, so there is no cache to encrypt.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = var.metrics_enabled
    logging_level          = var.logging_level
    data_trace_enabled     = false
    caching_enabled        = false
    throttling_rate_limit  = var.throttle.rate_limit
    throttling_burst_limit = var.throttle.burst_limit
  }
}

resource "aws_api_gateway_usage_plan" "this" {
  for_each = var.usage_plans

  name        = "${var.name}-${each.key}"
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

  name        = "${var.name}-${each.key}"
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

# The gateway may invoke each alias only for its own method and path.
resource "aws_lambda_permission" "api" {
  for_each = var.routes

  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = var.targets[each.key].function_name
  qualifier     = var.targets[each.key].alias_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/${each.value.method}${replace(each.value.path, "/\\{[^}]+\\}/", "*")}"
}

resource "aws_api_gateway_domain_name" "this" {
  count = var.custom_domain == null ? 0 : 1

  domain_name              = var.custom_domain.domain_name
  regional_certificate_arn = var.custom_domain.certificate_arn
  security_policy          = "TLS_1_2"

  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

resource "aws_api_gateway_base_path_mapping" "this" {
  count = var.custom_domain == null ? 0 : 1

  api_id      = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  domain_name = aws_api_gateway_domain_name.this[0].domain_name
  base_path   = try(var.custom_domain.base_path, null)
}
