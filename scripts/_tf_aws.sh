# Shared by deploy.sh and destroy.sh (sourced). Terraform against real AWS, never against an emulator:
# it refuses while an endpoint override exists, and holds the same lock as scripts/tf.py so that no
# override can appear mid-run.
#
# State: when terraform/deploy.settings.json exists (written by scripts/bootstrap_state.sh from the
# bootstrap's deploy_settings output; CI writes it from the DEPLOY_SETTINGS repository variable), the
# stage's state lives in the bootstrap's bucket (S3 backend, use_lockfile, its KMS key) and every role
# the stage creates carries the stage's permissions boundary. Without it, state stays local.

TF_DIR=terraform
LOCAL_OVERRIDE=$TF_DIR/zz_local_override.tf.json
DEPLOY_SETTINGS=${DEPLOY_SETTINGS:-$TF_DIR/deploy.settings.json}
BACKEND_OVERRIDE=$TF_DIR/zz_backend_override.tf.json
export TF_DATA_DIR=${TF_DATA_DIR:-$PWD/$TF_DIR/.terraform}
export TF_IN_AUTOMATION=1

tf() { terraform -chdir="$TF_DIR" "$@"; }

tf_bundle_flag() {
  python3 -c 'import json,sys; print("--bundle-layer" if json.load(open(sys.argv[1])).get("bundle_layer") else "")' \
    "$TF_DIR/stages/$1.json"
}

# Where scripts/build.py writes the stage's artifacts (build/lambda or build/lambda-bundled).
tf_artifact_dir() {
  if [ -n "$(tf_bundle_flag "$1")" ]; then echo "$PWD/build/lambda-bundled"; else echo "$PWD/build/lambda"; fi
}

# One value of deploy.settings.json: tf_setting <stage> <path>, e.g. tf_setting dev state.bucket.
tf_setting() {
  python3 - "$DEPLOY_SETTINGS" "$1" "$2" <<'PY'
import json, sys
settings, stage, path = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
if stage not in settings["stages"]:
    sys.exit(f"{sys.argv[1]} has no stage {stage}: the bootstrap created no roles for it (its `stages` variable).")
value = settings
for part in path.replace("STAGE", stage).split("."):
    value = value[part]
print(value)
PY
}

tf_aws_prepare() {
  local stage=$1
  case "$stage" in
    local|localstack)
      echo "Stage $stage runs on an emulator: use 'make run' (local) or 'python -m scripts.tf apply --stage localstack --endpoint http://localhost:4566' (see docs/deploying.md)." >&2
      exit 2 ;;
  esac
  [ -f "$TF_DIR/stages/$stage.json" ] || { echo "No stage file $TF_DIR/stages/$stage.json" >&2; exit 2; }
  command -v terraform >/dev/null || { echo "terraform is not on PATH" >&2; exit 2; }
  if [ -f "$DEPLOY_SETTINGS" ]; then tf_setting "$stage" state.bucket >/dev/null || exit 2; fi

  mkdir -p .local
  exec 9>.local/terraform.lock
  flock -n 9 || { echo "Waiting for another terraform run in this checkout (.local/terraform.lock)..." >&2; flock 9; }
  if [ -e "$LOCAL_OVERRIDE" ]; then
    echo "Refusing to deploy to AWS: $LOCAL_OVERRIDE exists (an emulator endpoint override). Remove it if no local run is active." >&2
    exit 3
  fi

  # readonly: a deploy verifies providers against the committed lock file and never rewrites it.
  local init=(init -input=false -lockfile=readonly)
  [ -n "${TF_PLUGIN_DIR:-}" ] && init+=("-plugin-dir=$TF_PLUGIN_DIR")
  if [ -f "$DEPLOY_SETTINGS" ]; then
    # The root module declares a local backend; this override switches it to S3 for this run only.
    printf '{"terraform": {"backend": {"s3": {}}}}\n' >"$BACKEND_OVERRIDE"
    trap 'rm -f "$BACKEND_OVERRIDE"' EXIT
    init+=(-reconfigure
      "-backend-config=bucket=$(tf_setting "$stage" state.bucket)"
      "-backend-config=region=$(tf_setting "$stage" state.region)"
      "-backend-config=key=$(tf_setting "$stage" state.key)"
      "-backend-config=workspace_key_prefix=$(tf_setting "$stage" state.workspace_key_prefix)"
      "-backend-config=kms_key_id=$(tf_setting "$stage" state.kms_key_id)"
      "-backend-config=encrypt=true"
      "-backend-config=use_lockfile=true")
    TF_VAR_permissions_boundary_arn=$(tf_setting "$stage" stages.STAGE.permissions_boundary_arn)
    export TF_VAR_permissions_boundary_arn
  else
    init+=(-reconfigure "-backend-config=workspace_dir=$PWD/$TF_DIR/terraform.tfstate.d")
  fi
  tf "${init[@]}" >&2
  tf workspace select -or-create "$stage" >&2
}

# SHA-256 of what a saved plan would change (resources and outputs): two plans with the same digest
# make the same changes. CI applies prod only when its fresh plan matches the reviewed one.
tf_plan_digest() {
  tf show -json "$1" | python3 -c '
import hashlib, json, sys
plan = json.load(sys.stdin)
changes = {"resources": plan.get("resource_changes", []), "outputs": plan.get("output_changes", {})}
print(hashlib.sha256(json.dumps(changes, sort_keys=True).encode()).hexdigest())'
}
