data "aws_caller_identity" "this" {}
data "aws_region" "this" {}

locals {
  bucket_name = "${var.name_prefix}-artifacts-${data.aws_caller_identity.this.account_id}-${data.aws_region.this.name}"
}

# Lambda code reaches Lambda from here (s3_bucket/s3_key/s3_object_version), not as `filename`
# uploads: the AWS provider serialises every `filename` function create behind one process-wide
# lock (one zip in memory at a time), so N functions took N times one create. Code in S3 lets them
# be created in parallel, and keeps each version of each zip for rollbacks.
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Build artifacts only; uploads are Terraform's own and show in CloudTrail, no access log bucket per stage.
  #checkov:skip=CKV_AWS_144:Artifacts are rebuilt reproducibly from source in any region; replication adds nothing.
  #checkov:skip=CKV2_AWS_62:Nothing consumes artifact events; Terraform points functions at each object version itself.
  #checkov:skip=CKV2_AWS_61:Lifecycle rules are a per-stage switch (s3_lifecycle); AWS stages turn them on (noncurrent versions expire).
  bucket = local.bucket_name
  # Reproducible build outputs: destroying a stage may delete them with the bucket.
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Only noncurrent versions expire: the current version of each key is what the functions run.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.noncurrent_expiration_days == null ? 0 : 1

  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-old-artifacts"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days           = var.noncurrent_expiration_days
      newer_noncurrent_versions = var.keep_noncurrent_versions
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# One fixed key per artifact; a new build of it is a new object version, which the function (or
# layer) then names in s3_object_version, so an unchanged zip is never redeployed.
resource "aws_s3_object" "this" {
  for_each = var.files

  bucket      = aws_s3_bucket.this.id
  key         = each.key
  source      = each.value
  source_hash = filemd5(each.value)
  kms_key_id  = var.kms_key_arn

  # Versions must exist before the first upload; encryption is explicit per object (kms_key_id).
  depends_on = [aws_s3_bucket_versioning.this, aws_s3_bucket_public_access_block.this]
}
