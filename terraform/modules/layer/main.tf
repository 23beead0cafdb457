# The shared layer (apikit + pinned runtime dependencies), built by scripts/build.py.
# Disabled where the stage bundles the layer into each function zip (LocalStack's free edition).
resource "aws_lambda_layer_version" "this" {
  count = var.enabled ? 1 : 0

  layer_name               = var.name
  description              = var.description
  filename                 = var.zip_path
  source_code_hash         = filebase64sha256(var.zip_path)
  compatible_runtimes      = var.compatible_runtimes
  compatible_architectures = var.compatible_architectures
}
