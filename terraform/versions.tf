terraform {
  # 1.11: the S3 backend's use_lockfile (state locking without a DynamoDB table) is generally
  # available, `terraform test` has mock providers and override_module, and ephemeral resources with
  # write-only arguments keep the cursor key out of state (modules/secret).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Only the tested line. .terraform.lock.hcl (committed) pins the exact version and the checksums
      # of every platform's package; how to move to another line: docs/deploying.md#providers.
      version = "~> 5.100.0"
    }
  }

  # Scripts pass -backend-config=workspace_dir=... (and path=...) so that `make run`, the tests and a
  # user's AWS deploys never share state. AWS stages keep state in S3: scripts/bootstrap_state.sh.
  backend "local" {}
}
