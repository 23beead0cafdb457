# One hardened bucket: private (public access blocked, owner-enforced), TLS-only, versioned, SSE-KMS
# with a bucket key; lifecycle rules and Object Lock are the caller's choice.
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a second bucket per stage; CloudTrail data events cover access auditing.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-organisation DR decision; versioning (and Object Lock where set) protect the data here.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events: the audit log is read with Athena, artifacts are named by version.
  bucket              = var.name
  force_destroy       = var.force_destroy
  object_lock_enabled = var.object_lock != null
  tags                = var.tags
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

# TLS only; and, when writer_role_arns is set, object writes (PutObject, multipart uploads included)
# by those roles only. A Deny in the bucket
# policy wins over any Allow in any identity policy of the account (administrators included), so
# writing into the bucket needs one of those roles, not merely an IAM grant. aws:PrincipalArn is the
# role's ARN for every session of the role; a request without it (anonymous) is denied too.
resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }],
      length(var.writer_role_arns) == 0 ? [] : [{
        Sid       = "DenyObjectWritesByOthers"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.this.arn}/*"
        Condition = { ArnNotEquals = { "aws:PrincipalArn" = var.writer_role_arns } }
      }],
    )
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Two static rules, not a dynamic list: Checkov renders a dynamic `rule` over static ones and then
# misses the abort rule (CKV_AWS_300).
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.lifecycle_rules == null ? 0 : 1

  bucket = aws_s3_bucket.this.id

  # Always: parts of failed multipart uploads are billed but never visible as objects.
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.lifecycle_rules.abort_incomplete_upload_days
    }
  }

  rule {
    id     = var.lifecycle_rules.id
    status = "Enabled"

    # prefix null is the empty filter: the rule covers every object.
    filter {
      prefix = var.lifecycle_rules.prefix
    }

    dynamic "transition" {
      for_each = var.lifecycle_rules.transition_ia_days == null ? [] : [var.lifecycle_rules.transition_ia_days]

      content {
        days          = transition.value
        storage_class = "STANDARD_IA"
      }
    }

    dynamic "expiration" {
      for_each = var.lifecycle_rules.expiration_days == null ? [] : [var.lifecycle_rules.expiration_days]

      content {
        days = expiration.value
      }
    }

    dynamic "noncurrent_version_expiration" {
      for_each = var.lifecycle_rules.noncurrent_expiration_days == null ? [] : [var.lifecycle_rules.noncurrent_expiration_days]

      content {
        noncurrent_days           = noncurrent_version_expiration.value
        newer_noncurrent_versions = var.lifecycle_rules.newer_noncurrent_versions
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock == null ? 0 : 1

  bucket = aws_s3_bucket.this.id

  rule {
    default_retention {
      mode = var.object_lock.mode
      days = var.object_lock.days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}
