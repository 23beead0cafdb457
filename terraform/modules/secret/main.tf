# The pagination-cursor HMAC key. Its value is generated once from two random UUIDs (244 random bits)
# and then left alone (ignore_changes), so plans stay clean and cursors stay valid; rotate it by
# tainting the resource. It is never an output.
resource "aws_ssm_parameter" "this" {
  name        = var.name
  description = var.description
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = sha256("${uuid()}${uuid()}")

  lifecycle {
    ignore_changes = [value]
  }
}
