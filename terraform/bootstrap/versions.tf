terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The same tested line as the stages' root module (tests/terraform/test_providers.py holds both
      # to the committed lock files).
      version = "~> 5.100.0"
    }
  }

  # Local state on the administrator's machine until scripts/bootstrap_state.sh has created the
  # bucket; docs/deploying.md#state says how to move it into the bucket it created.
  backend "local" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project   = var.project
      ManagedBy = "terraform"
      Component = "bootstrap"
    })
  }
}
