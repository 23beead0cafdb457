# API Gateway's own errors (bad body, no or unknown key: 401, a key or scope the authorizer refuses: 403,
# throttled, ...) answer in the functions' error shape, {"message": ...}, with the CORS headers of cors.tf.
#
# A gateway response template is plain substitution that escapes nothing: messageString is the
# message between double quotes, and validationErrorString is the validator's text with its raw
# double quotes (object has missing required properties (["name"])). No variable gives it escaped,
# so it cannot appear in a JSON body at all: BAD_REQUEST_BODY says "Invalid request body" only.
locals {
  message_template = "{\"message\":$context.error.messageString}"
  gateway_responses = {
    DEFAULT_4XX                  = { status = null, template = local.message_template }
    DEFAULT_5XX                  = { status = null, template = local.message_template }
    BAD_REQUEST_BODY             = { status = "400", template = local.message_template }
    BAD_REQUEST_PARAMETERS       = { status = "400", template = local.message_template }
    MISSING_AUTHENTICATION_TOKEN = { status = "403", template = local.message_template }
    INVALID_API_KEY              = { status = "403", template = local.message_template }
    UNAUTHORIZED                 = { status = "401", template = local.message_template }
    ACCESS_DENIED                = { status = "403", template = local.message_template }
    THROTTLED                    = { status = "429", template = local.message_template }
    QUOTA_EXCEEDED               = { status = "429", template = local.message_template }
    REQUEST_TOO_LARGE            = { status = "413", template = local.message_template }
    INTEGRATION_TIMEOUT          = { status = "504", template = local.message_template }
  }
}

resource "aws_api_gateway_gateway_response" "this" {
  for_each = local.gateway_responses

  rest_api_id         = aws_api_gateway_rest_api.this.id
  response_type       = each.key
  status_code         = each.value.status
  response_templates  = { "application/json" = each.value.template }
  response_parameters = local.cors_headers
}
