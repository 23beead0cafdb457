provider "aws" {
  region = local.stage.region

  default_tags {
    tags = merge(var.tags, {
      Project   = var.project
      Stage     = local.stage_name
      ManagedBy = "terraform"
    })
  }
}
