# The shared layer (apikit + pinned runtime dependencies), built by scripts/build.py.
# Code comes from the stage's artifacts bucket (modules/artifacts), like the functions'.
# Disabled where the stage bundles the layer into each function zip (LocalStack's free edition).
resource "aws_lambda_layer_version" "this" {
  count = var.enabled ? 1 : 0

  layer_name               = var.name
  description              = var.description
  s3_bucket                = var.s3_object.bucket
  s3_key                   = var.s3_object.key
  s3_object_version        = var.s3_object.version_id
  source_code_hash         = filebase64sha256(var.zip_path)
  compatible_runtimes      = var.compatible_runtimes
  compatible_architectures = var.compatible_architectures
}
