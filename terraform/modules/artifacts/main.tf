data "aws_caller_identity" "this" {}
data "aws_region" "this" {}

locals {
  bucket_name = "${var.name_prefix}-artifacts-${data.aws_caller_identity.this.account_id}-${data.aws_region.this.name}"
}

# Lambda code reaches Lambda from here (s3_bucket/s3_key/s3_object_version), not as `filename`
# uploads: the AWS provider serialises every `filename` function create behind one process-wide
# lock (one zip in memory at a time), so N functions took N times one create. Code in S3 lets them
# be created in parallel, and keeps each version of each zip for rollbacks.
module "bucket" {
  source = "../bucket"

  name        = local.bucket_name
  kms_key_arn = var.kms_key_arn
  # Reproducible build outputs: destroying a stage may delete them with the bucket.
  force_destroy = true
  # Only noncurrent versions expire: the current version of each key is what the functions run.
  lifecycle_rules = var.noncurrent_expiration_days == null ? null : {
    id                           = "expire-old-artifacts"
    noncurrent_expiration_days   = var.noncurrent_expiration_days
    newer_noncurrent_versions    = var.keep_noncurrent_versions
    abort_incomplete_upload_days = 1
  }
}

# One fixed key per artifact; a new build of it is a new object version, which the function (or
# layer) then names in s3_object_version, so an unchanged zip is never redeployed.
resource "aws_s3_object" "this" {
  for_each = var.files

  bucket      = module.bucket.id
  key         = each.key
  source      = each.value
  source_hash = filemd5(each.value)
  kms_key_id  = var.kms_key_arn

  # Versioning (and the rest of the bucket's hardening) must exist before the first upload;
  # encryption is explicit per object (kms_key_id).
  depends_on = [module.bucket]
}
