# The authorizer's records of the API keys, one table item per key, written from the stage file: the
# key's SHA-256 (never its value) under APIKEY#<hash>, outside every partner's P#<partner># space.
resource "aws_dynamodb_table_item" "this" {
  for_each = var.api_keys

  table_name = var.table_name
  hash_key   = var.hash_key
  range_key  = var.range_key
  item = jsonencode({
    (var.hash_key)  = { S = "${var.record.pk_prefix}${sha256(var.api_key_values[each.key])}" }
    (var.range_key) = { S = var.record.sk }
    entity          = { S = var.record.entity }
    partnerId       = { S = each.value.partner }
    scope           = { S = each.value.scope }
    keyName         = { S = each.value.name }
    apiKeyId        = { S = each.value.api_key_id }
    usagePlanId     = { S = each.value.usage_plan_id }
    state           = { S = "active" }
  })
}
