#!/usr/bin/env bash
# Create an S3 bucket (versioned, encrypted, private, TLS-only) and a DynamoDB lock table for
# Terraform state, then write terraform/backend.s3.tfbackend so deploy.sh/destroy.sh use them.
# Idempotent: existing resources are kept.
#
#   scripts/bootstrap_state.sh <bucket-name> [region] [lock-table-name]
set -euo pipefail
cd "$(dirname "$0")/.."

bucket=${1:?usage: scripts/bootstrap_state.sh <bucket-name> [region] [lock-table-name]}
region=${2:-${AWS_REGION:-eu-west-1}}
table=${3:-terraform-locks}
command -v aws >/dev/null || { echo "the AWS CLI (v2) is required" >&2; exit 2; }

if ! aws s3api head-bucket --bucket "$bucket" 2>/dev/null; then
  if [ "$region" = "us-east-1" ]; then
    aws s3api create-bucket --bucket "$bucket" --region "$region"
  else
    aws s3api create-bucket --bucket "$bucket" --region "$region" \
      --create-bucket-configuration "LocationConstraint=$region"
  fi
fi
aws s3api put-bucket-versioning --bucket "$bucket" --versioning-configuration Status=Enabled
aws s3api put-bucket-encryption --bucket "$bucket" --server-side-encryption-configuration \
  '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"},"BucketKeyEnabled":true}]}'
aws s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
aws s3api put-bucket-policy --bucket "$bucket" --policy "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::$bucket\",\"arn:aws:s3:::$bucket/*\"],\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}"

if ! aws dynamodb describe-table --table-name "$table" --region "$region" >/dev/null 2>&1; then
  aws dynamodb create-table --table-name "$table" --region "$region" \
    --attribute-definitions AttributeName=LockID,AttributeType=S \
    --key-schema AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST \
    --sse-specification Enabled=true
  aws dynamodb wait table-exists --table-name "$table" --region "$region"
fi

cat >terraform/backend.s3.tfbackend <<CONF
bucket               = "$bucket"
key                  = "items/terraform.tfstate"
workspace_key_prefix = "stages"
region               = "$region"
dynamodb_table       = "$table"
encrypt              = true
CONF
echo "Wrote terraform/backend.s3.tfbackend; scripts/deploy.sh now keeps state in s3://$bucket/stages/<stage>/."
echo "Existing local state? Run the first deploy with 'terraform init -migrate-state' as documented in docs/deploying.md."
