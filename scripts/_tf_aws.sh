# Shared by deploy.sh and destroy.sh (sourced). Terraform against real AWS, never against an emulator:
# it refuses while an endpoint override exists, and holds the same lock as scripts/tf.py so that no
# override can appear mid-run.

TF_DIR=terraform
LOCAL_OVERRIDE=$TF_DIR/zz_local_override.tf.json
BACKEND_CONFIG=$TF_DIR/backend.s3.tfbackend
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

tf_aws_prepare() {
  local stage=$1
  case "$stage" in
    local|localstack)
      echo "Stage $stage runs on an emulator: use 'make run' (local) or 'python -m scripts.tf apply --stage localstack --endpoint http://localhost:4566' (see docs/deploying.md)." >&2
      exit 2 ;;
  esac
  [ -f "$TF_DIR/stages/$stage.json" ] || { echo "No stage file $TF_DIR/stages/$stage.json" >&2; exit 2; }
  command -v terraform >/dev/null || { echo "terraform is not on PATH" >&2; exit 2; }

  mkdir -p .local
  exec 9>.local/terraform.lock
  flock -n 9 || { echo "Waiting for another terraform run in this checkout (.local/terraform.lock)..." >&2; flock 9; }
  if [ -e "$LOCAL_OVERRIDE" ]; then
    echo "Refusing to deploy to AWS: $LOCAL_OVERRIDE exists (an emulator endpoint override). Remove it if no local run is active." >&2
    exit 3
  fi

  local init=(init -input=false)
  [ -n "${TF_PLUGIN_DIR:-}" ] && init+=("-plugin-dir=$TF_PLUGIN_DIR")
  if [ -f "$BACKEND_CONFIG" ]; then
    # The root module declares a local backend; this override switches it to S3 for this run only.
    printf '{"terraform": {"backend": {"s3": {}}}}\n' >"$BACKEND_OVERRIDE"
    trap 'rm -f "$BACKEND_OVERRIDE"' EXIT
    init+=(-reconfigure "-backend-config=$PWD/$BACKEND_CONFIG")
  else
    init+=(-reconfigure "-backend-config=workspace_dir=$PWD/$TF_DIR/terraform.tfstate.d")
  fi
  tf "${init[@]}"
  tf workspace select -or-create "$stage"
}
