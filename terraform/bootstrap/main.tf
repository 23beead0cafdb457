# What every AWS stage needs before its first deploy: a state bucket encrypted with a customer-managed
# key that only the deploy roles and the break-glass administrators can read, the GitHub OIDC
# provider, and per stage a read-only plan role and a deploy role (iam.tf). Applied once per account
# by an administrator (scripts/bootstrap_state.sh); docs/deploying.md#state.

data "aws_caller_identity" "this" {}
data "aws_partition" "this" {}

# The role behind the caller's session (an assumed-role ARN names the session, not the role).
data "aws_iam_session_context" "caller" {
  arn = data.aws_caller_identity.this.arn
}

locals {
  account_id = data.aws_caller_identity.this.account_id
  partition  = data.aws_partition.this.partition
  bucket     = coalesce(var.state_bucket_name, "${var.project}-tfstate-${local.account_id}-${var.region}")
  bucket_arn = "arn:${local.partition}:s3:::${local.bucket}"
  stages     = toset(var.stages)

  plan_role_arns   = { for s in local.stages : s => "arn:${local.partition}:iam::${local.account_id}:role/${var.project}-plan-${s}" }
  deploy_role_arns = { for s in local.stages : s => "arn:${local.partition}:iam::${local.account_id}:role/${var.project}-deploy-${s}" }
  # Each stage's state and its S3-native lock file (use_lockfile writes <key>.tflock beside it).
  state_object_arns = { for s in local.stages : s => "${local.bucket_arn}/${var.workspace_key_prefix}/${s}/${var.state_key}" }
  state_principals  = concat(var.admin_principal_arns, values(local.plan_role_arns), values(local.deploy_role_arns))
}

resource "aws_kms_key" "state" {
  description             = "Terraform state of ${var.project} (bucket ${local.bucket})"
  deletion_window_in_days = var.kms_deletion_window_days
  enable_key_rotation     = true
  policy                  = jsonencode(local.state_key_policy)

  lifecycle {
    precondition {
      condition     = contains(var.admin_principal_arns, data.aws_iam_session_context.caller.issuer_arn)
      error_message = "Apply the bootstrap as one of admin_principal_arns (you are ${data.aws_iam_session_context.caller.issuer_arn}): the key and bucket policies admit nobody else, so anyone else would lock themselves out."
    }
  }
}

resource "aws_kms_alias" "state" {
  name          = "alias/${var.project}-tfstate"
  target_key_id = aws_kms_key.state.key_id
}

locals {
  # No statement for the account root: IAM policies alone cannot grant this key to anyone.
  state_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "BreakGlassAdministrators"
        Effect    = "Allow"
        Principal = { AWS = var.admin_principal_arns }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "DeployRolesReadAndWriteStateThroughS3"
        Effect    = "Allow"
        Principal = { AWS = values(local.deploy_role_arns) }
        Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" }
          StringLike   = { "kms:EncryptionContext:aws:s3:arn" = [local.bucket_arn, "${local.bucket_arn}/*"] }
        }
      },
      {
        Sid       = "PlanRolesReadStateThroughS3"
        Effect    = "Allow"
        Principal = { AWS = values(local.plan_role_arns) }
        Action    = ["kms:Decrypt", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" }
          StringLike   = { "kms:EncryptionContext:aws:s3:arn" = [local.bucket_arn, "${local.bucket_arn}/*"] }
        }
      },
    ]
  }
}

# The state bucket is defined here rather than through modules/bucket: its policy is its own
# (principals, per-stage keys, the key every object must use), and the bootstrap depends on nothing
# that the stages deploy.
resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access to state is audited by CloudTrail data events; a log bucket per state bucket adds a bucket to bootstrap.
  #checkov:skip=CKV_AWS_144:State is small and rebuilt by re-planning; versioning keeps every prior version for recovery.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state-object events.
  # No force_destroy: a destroy fails while any state version is left in the bucket.
  bucket = local.bucket
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-replaced-state"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = jsonencode(local.state_bucket_policy)

  depends_on = [aws_s3_bucket_public_access_block.state]
}

locals {
  state_bucket_policy = {
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "DenyInsecureTransport"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
        {
          Sid       = "DenyEveryoneButDeployRolesAndAdministrators"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
          Condition = { ArnNotEquals = { "aws:PrincipalArn" = local.state_principals } }
        },
        {
          # Objects without an encryption header get the bucket default (this key); a header may
          # ask only for SSE-KMS with this key, so no state is ever written under SSE-S3 or another key.
          Sid       = "DenyEncryptionOtherThanSseKms"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:PutObject"
          Resource  = "${local.bucket_arn}/*"
          Condition = { StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption" = "aws:kms" } }
        },
        {
          Sid       = "DenyKmsKeysOtherThanTheStateKey"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:PutObject"
          Resource  = "${local.bucket_arn}/*"
          Condition = { StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.state.arn } }
        },
      ],
      [
        # A stage's roles read and write only that stage's state, even if an identity policy grew.
        for s in var.stages : {
          Sid       = "OnlyStage${replace(title(s), "/[^A-Za-z0-9]/", "")}RolesTouchItsState"
          Effect    = "Deny"
          Principal = "*"
          Action    = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
          Resource  = "${local.bucket_arn}/${var.workspace_key_prefix}/${s}/*"
          Condition = {
            ArnNotEquals = { "aws:PrincipalArn" = concat(var.admin_principal_arns, [local.plan_role_arns[s], local.deploy_role_arns[s]]) }
          }
        }
      ],
    )
  }
}
