output "state_bucket" {
  description = "The state bucket."
  value       = aws_s3_bucket.state.bucket
}

output "state_kms_key_arn" {
  description = "The customer-managed key every state object is encrypted with."
  value       = aws_kms_key.state.arn
}

output "github_oidc_provider_arn" {
  description = "The GitHub Actions OIDC provider the roles trust."
  value       = local.oidc_provider
}

output "deploy_settings" {
  description = "Everything a deploy needs to find state and roles, by stage: scripts/bootstrap_state.sh writes it to terraform/deploy.settings.json, and CI reads it from the DEPLOY_SETTINGS repository variable (docs/deploying.md#state)."
  value = {
    project = var.project
    state = {
      bucket               = aws_s3_bucket.state.bucket
      region               = var.region
      kms_key_id           = aws_kms_key.state.arn
      key                  = var.state_key
      workspace_key_prefix = var.workspace_key_prefix
    }
    stages = {
      for s in local.stages : s => {
        region                   = local.home_region[s]
        plan_role_arn            = aws_iam_role.plan[s].arn
        deploy_role_arn          = aws_iam_role.deploy[s].arn
        permissions_boundary_arn = aws_iam_policy.boundary[s].arn
      }
    }
  }
}
