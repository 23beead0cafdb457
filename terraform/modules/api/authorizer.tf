# The Lambda REQUEST authorizer on every keyed method: it turns the x-api-key header into the partner
# (functions/authorizer). API Gateway caches its answer per key for authorizer_ttl_seconds and meters
# the key it names as the usage identifier (api_key_source = AUTHORIZER on the REST API).

resource "aws_api_gateway_authorizer" "this" {
  name                             = "${var.name_prefix}-api-key"
  rest_api_id                      = aws_api_gateway_rest_api.this.id
  type                             = "REQUEST"
  authorizer_uri                   = var.authorizer.invoke_arn
  identity_source                  = var.authorizer.identity_source
  authorizer_result_ttl_in_seconds = var.authorizer_ttl_seconds
}

# The gateway may invoke the authorizer's alias only as this API's authorizer.
resource "aws_lambda_permission" "authorizer" {
  statement_id  = "AllowApiGatewayAuthorizer"
  action        = "lambda:InvokeFunction"
  function_name = var.authorizer.function_name
  qualifier     = var.authorizer.alias_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/authorizers/${aws_api_gateway_authorizer.this.id}"
}
