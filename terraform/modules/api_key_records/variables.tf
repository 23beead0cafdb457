variable "table_name" {
  description = "The table that holds the records (the stage's single table)."
  type        = string
}

variable "hash_key" {
  description = "The table's partition key attribute (table.json hash_key)."
  type        = string
}

variable "range_key" {
  description = "The table's sort key attribute (table.json range_key)."
  type        = string
}

variable "record" {
  description = "Where records live, from table.json api_key_record: pk_prefix (before the key's hex SHA-256), sk and entity."
  type = object({
    pk_prefix = string
    sk        = string
    entity    = string
  })
}

variable "api_keys" {
  description = "Each API key by \"partner/key\": partner, name, scope, api_key_id and usage_plan_id (the api module's api_keys output)."
  type = map(object({
    partner       = string
    name          = string
    scope         = string
    api_key_id    = string
    usage_plan_id = string
  }))
}

variable "api_key_values" {
  description = "Value of each API key by \"partner/key\": hashed here, never stored."
  type        = map(string)
  sensitive   = true
}
