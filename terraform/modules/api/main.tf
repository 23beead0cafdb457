# The REST API built from the manifests' routes: resource tree, models and validators, methods, their
# Lambda proxy integrations and invoke permissions, and the deployment that snapshots it all.

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
}

resource "aws_api_gateway_rest_api" "this" {
  name           = var.name_prefix
  description    = var.description
  api_key_source = "AUTHORIZER" # the authorizer's usageIdentifierKey, not the header, meters keys

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
  authorization        = each.value.api_key_required ? "CUSTOM" : "NONE"
  authorizer_id        = each.value.api_key_required ? aws_api_gateway_authorizer.this.id : null
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

  lifecycle {
    precondition {
      condition     = var.targets[each.key].timeout * 1000 < var.integration_timeout_ms
      error_message = "${each.key}: the function's timeout (${var.targets[each.key].timeout} s) must be shorter than the integration timeout (${var.integration_timeout_ms} ms): a function still running when API Gateway answers 504 can write after the client was told it failed."
    }
  }
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
      [aws_api_gateway_authorizer.this.id, var.authorizer, var.authorizer_ttl_seconds],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_authorizer.this,
    aws_api_gateway_method.this,
    aws_api_gateway_integration.this,
    aws_api_gateway_gateway_response.this,
    aws_api_gateway_integration.cors,
    aws_api_gateway_integration_response.cors,
  ]
}
