#!/usr/bin/env bash
# Destroy one stage in AWS (asks first unless --auto-approve). Tables with deletion protection and
# buckets without force_destroy (staging, prod) refuse: turn those off in the stage file first.
#
#   scripts/destroy.sh <dev|staging|prod> [--auto-approve]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_tf_aws.sh
source scripts/_tf_aws.sh

stage=${1:?usage: scripts/destroy.sh <stage> [--auto-approve]}
auto_approve=${2:-}
tf_aws_prepare "$stage"

artifacts=$(tf_artifact_dir "$stage")
[ -f "$artifacts/manifest.json" ] || python3 scripts/build.py --target lambda $(tf_bundle_flag "$stage") >/dev/null
args=(destroy -input=false -var="artifact_dir=$artifacts")
[ "$auto_approve" = "--auto-approve" ] && args+=(-auto-approve)
tf "${args[@]}"
