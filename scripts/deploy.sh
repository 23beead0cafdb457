#!/usr/bin/env bash
# Deploy one stage to AWS: build the artifacts, init, select (or create) the stage's workspace, plan to
# a file, then apply exactly that plan.
#
#   scripts/deploy.sh <dev|staging|prod> [--auto-approve]
#
# Credentials come from the usual AWS sources (AWS_PROFILE, SSO, environment). State stays in
# terraform/terraform.tfstate.d/<stage>/ unless scripts/bootstrap_state.sh wrote
# terraform/backend.s3.tfbackend, in which case it lives in that S3 bucket with a DynamoDB lock.
# LocalStack and the embedded stack deploy through scripts/tf.py instead (see docs/deploying.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_tf_aws.sh
source scripts/_tf_aws.sh

stage=${1:?usage: scripts/deploy.sh <stage> [--auto-approve]}
auto_approve=${2:-}
tf_aws_prepare "$stage"

python3 scripts/build.py --target lambda $(tf_bundle_flag "$stage") >/dev/null
artifacts=$(tf_artifact_dir "$stage")

tf plan -input=false -var="artifact_dir=$artifacts" -out="$TF_DATA_DIR/$stage.tfplan"
if [ "$auto_approve" != "--auto-approve" ]; then
  read -r -p "Apply this plan to stage $stage? [y/N] " answer
  [ "$answer" = "y" ] || { echo "Not applied."; exit 1; }
fi
tf apply -input=false "$TF_DATA_DIR/$stage.tfplan"
tf output
