# GitHub Actions reach AWS through OIDC: no stored keys. Per stage, two roles:
#   <project>-plan-<stage>    read-only; pull requests and main (plans, drift checks). Reads only its
#                             stage's state and never takes the state lock (plans run -lock=false).
#   <project>-deploy-<stage>  applies; only jobs in the GitHub environment named after the stage.
# A deploy role may do anything to resources named <project>-<stage>-* (what it creates, changes and
# destroys) and nothing to anything else; what cannot be scoped by name is scoped by the Stage tag,
# and every role it creates carries the stage's permissions boundary. The reasoning, and what the
# boundary of one account cannot give: docs/security.md#ci-roles.

locals {
  github_oidc_url = "token.actions.githubusercontent.com"
  oidc_provider   = coalesce(var.github_oidc_provider_arn, try(aws_iam_openid_connect_provider.github[0].arn, null))

  # Regions each stage's resources live in: its stage file's region and its table replicas'.
  stage_files    = { for s in local.stages : s => "${path.module}/../stages/${s}.json" }
  stage_settings = { for s in local.stages : s => try(jsondecode(file(local.stage_files[s])), null) }
  stage_regions = {
    for s in local.stages : s => distinct(concat(
      [try(local.stage_settings[s].region, var.region)],
      [for r in try(local.stage_settings[s].table.replicas, []) : r.region_name],
    ))
  }
  home_region = { for s in local.stages : s => local.stage_regions[s][0] }
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://${local.github_oidc_url}"
  client_id_list = ["sts.amazonaws.com"]
}

resource "aws_iam_role" "plan" {
  for_each = local.stages

  name                 = "${var.project}-plan-${each.key}"
  description          = "Read-only terraform plan of stage ${each.key} from GitHub Actions (pull requests, ${var.main_branch})"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.oidc_provider }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.github_oidc_url}:aud" = "sts.amazonaws.com"
          "${local.github_oidc_url}:sub" = [
            "repo:${var.github_repository}:pull_request",
            "repo:${var.github_repository}:ref:refs/heads/${var.main_branch}",
          ]
        }
      }
    }]
  })

  lifecycle {
    precondition {
      condition     = local.stage_settings[each.key] != null
      error_message = "Stage ${each.key} has no terraform/stages/${each.key}.json."
    }
  }
}

resource "aws_iam_role" "deploy" {
  for_each = local.stages

  name                 = "${var.project}-deploy-${each.key}"
  description          = "terraform apply of stage ${each.key} from the GitHub environment ${each.key}"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.oidc_provider }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.github_oidc_url}:aud" = "sts.amazonaws.com"
          # A job that names `environment: <stage>` gets this subject; the environment's protection
          # rules (reviewers on prod, deployment branches = main) decide which jobs may.
          "${local.github_oidc_url}:sub" = "repo:${var.github_repository}:environment:${each.key}"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "plan" {
  for_each = local.stages

  name   = "plan-${each.key}"
  role   = aws_iam_role.plan[each.key].id
  policy = jsonencode(local.plan_policies[each.key])
}

resource "aws_iam_role_policy" "deploy" {
  for_each = local.stages

  name   = "deploy-${each.key}"
  role   = aws_iam_role.deploy[each.key].id
  policy = jsonencode(local.deploy_policies[each.key])
}

# The most any role the stage creates may do (functions, Firehose, API Gateway's logging role).
resource "aws_iam_policy" "boundary" {
  for_each = local.stages

  name        = "${var.project}-${each.key}-boundary"
  description = "Permissions boundary of every role that stage ${each.key} creates"
  policy      = jsonencode(local.boundary_policies[each.key])
}
