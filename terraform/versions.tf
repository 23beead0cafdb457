terraform {
  required_version = ">= 1.11" # ephemeral resources and write-only arguments (modules/secret)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Scripts pass -backend-config=workspace_dir=... (and path=...) so that `make run`, the tests and a
  # user's AWS deploys never share state. scripts/bootstrap_state.sh shows the S3 alternative.
  backend "local" {}
}
