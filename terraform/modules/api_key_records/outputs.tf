output "keys" {
  description = "The \"partner/key\" names that have a record."
  value       = sort(keys(aws_dynamodb_table_item.this))
}
