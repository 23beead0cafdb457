#!/usr/bin/env bash
# Deploy one AWS stage: build the artifacts, init (state per scripts/_tf_aws.sh), select the stage's
# workspace, plan to a file, then apply exactly that plan.
#
#   scripts/deploy.sh <stage> [--auto-approve]        plan, show, ask, apply that plan
#   scripts/deploy.sh --plan-only [--no-lock] [--detailed-exitcode] <stage> [planfile]
#                                                      write the plan for review, apply nothing:
#                                                      <planfile> (default build/plans/<stage>.tfplan),
#                                                      <planfile>.txt (as terraform show prints it,
#                                                      sensitive values redacted) and <planfile>.sha256
#                                                      (what it changes; see tf_plan_digest). --no-lock
#                                                      for read-only roles (CI's plan roles never take
#                                                      the state lock); --detailed-exitcode exits 2
#                                                      when the plan has changes (drift checks).
#   scripts/deploy.sh <stage> <planfile>               apply exactly that saved plan (Terraform
#                                                      refuses it if the state moved since)
#
# Credentials come from the usual AWS sources (AWS_PROFILE, SSO, environment, CI's OIDC role).
# LocalStack and the embedded stack deploy through scripts/tf.py instead (see docs/deploying.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_tf_aws.sh
source scripts/_tf_aws.sh

usage="usage: scripts/deploy.sh <stage> [--auto-approve | <planfile>] | scripts/deploy.sh --plan-only [--no-lock] [--detailed-exitcode] <stage> [planfile]"
plan_only=false lock=true detailed=false
while [ $# -gt 0 ]; do
  case "$1" in
    --plan-only) plan_only=true ;;
    --no-lock) lock=false ;;
    --detailed-exitcode) detailed=true ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
stage=${1:?$usage}
arg=${2:-}
if ! $plan_only && { ! $lock || $detailed; }; then
  echo "--no-lock and --detailed-exitcode go with --plan-only" >&2; exit 2
fi
tf_aws_prepare "$stage"

python3 scripts/build.py --target lambda $(tf_bundle_flag "$stage") >/dev/null
artifacts=$(tf_artifact_dir "$stage")

if ! $plan_only && [ -n "$arg" ] && [ "$arg" != "--auto-approve" ]; then
  [ -f "$arg" ] || { echo "No plan file $arg" >&2; exit 2; }
  tf apply -input=false "$(realpath "$arg")"
  tf output
  exit 0
fi

plan=$PWD/build/plans/$stage.tfplan
$plan_only && [ -n "$arg" ] && plan=$(realpath -m "$arg")
mkdir -p "$(dirname "$plan")"
args=(plan -input=false -var="artifact_dir=$artifacts" -out="$plan")
$lock || args+=(-lock=false)
$detailed && args+=(-detailed-exitcode)
status=0
tf "${args[@]}" || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || exit "$status"

if $plan_only; then
  tf show -no-color "$plan" >"$plan.txt"
  tf_plan_digest "$plan" >"$plan.sha256"
  echo "Plan for $stage: $plan (review: $plan.txt; apply: scripts/deploy.sh $stage $plan)"
  exit "$status"
fi
if [ "$arg" != "--auto-approve" ]; then
  read -r -p "Apply this plan to stage $stage? [y/N] " answer
  [ "$answer" = "y" ] || { echo "Not applied."; exit 1; }
fi
tf apply -input=false "$plan"
tf output
