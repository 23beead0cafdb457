#!/usr/bin/env bash
# Once per AWS account, as an administrator: apply terraform/bootstrap (the state bucket and its
# customer-managed key, the GitHub OIDC provider, a plan role, a deploy role and a permissions
# boundary per stage), then write terraform/deploy.settings.json so that deploy.sh and destroy.sh keep
# each stage's state in that bucket (S3 backend, use_lockfile). Re-running it converges.
#
#   scripts/bootstrap_state.sh <owner/repo> <admin-arn>[,<admin-arn>...] [region] [-- terraform apply args]
#
# The administrators (IAM role or user ARNs) are the only people who can read state besides the
# stage roles: include the role you run this as (the bootstrap refuses otherwise). Extra arguments
# after -- go to terraform apply, e.g. -- -var='stages=["prod"]' in an account of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/bootstrap_state.sh <owner/repo> <admin-arn>[,<admin-arn>...] [region] [-- terraform apply args]"
repo=${1:?$usage}
admins=${2:?$usage}
shift 2
region=${AWS_REGION:-eu-west-1}
if [ $# -gt 0 ] && [ "$1" != "--" ]; then region=$1; shift; fi
[ "${1:-}" = "--" ] && shift
command -v terraform >/dev/null || { echo "terraform is not on PATH" >&2; exit 2; }

admins_json=$(python3 -c 'import json,sys; print(json.dumps([a.strip() for a in sys.argv[1].split(",") if a.strip()]))' "$admins")
dir=terraform/bootstrap
init=(init -input=false -lockfile=readonly)
[ -n "${TF_PLUGIN_DIR:-}" ] && init+=("-plugin-dir=$TF_PLUGIN_DIR")
terraform -chdir="$dir" "${init[@]}"
terraform -chdir="$dir" apply -input=false \
  -var="region=$region" -var="github_repository=$repo" -var="admin_principal_arns=$admins_json" "$@"
terraform -chdir="$dir" output -json deploy_settings >terraform/deploy.settings.json

cat <<DONE
Wrote terraform/deploy.settings.json: scripts/deploy.sh now keeps each stage's state in
s3://$(python3 -c 'import json; print(json.load(open("terraform/deploy.settings.json"))["state"]["bucket"])')/stages/<stage>/.
Next (docs/deploying.md#from-pull-request-to-prod):
  gh variable set DEPLOY_SETTINGS < terraform/deploy.settings.json     # what the workflows read
  GitHub environments dev, staging, prod: deployment branches = main; prod: required reviewers
Existing local state of a stage? Migrate it once: docs/deploying.md#state.
DONE
