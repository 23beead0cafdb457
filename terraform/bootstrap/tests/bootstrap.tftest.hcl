# Fast checks of the bootstrap's logic with a mocked AWS provider (tests/terraform/test_tftest.py runs
# them in `make test`); tests/terraform/test_bootstrap.py plans it against moto, and
# `make test-bootstrap` applies it there and deploys state through it.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  region               = "eu-west-1"
  github_repository    = "acme/items"
  admin_principal_arns = ["arn:aws:iam::123456789012:role/admin"]
  # IAM service of each resource type prefix the stages' modules use: the deploy role must hold
  # actions of that service (a module that adds a new kind of resource fails the last run below).
  resource_services = {
    aws_api_gateway                = "apigateway"
    aws_appautoscaling             = "application-autoscaling"
    aws_cloudwatch_dashboard       = "cloudwatch"
    aws_cloudwatch_event           = "events"
    aws_cloudwatch_log             = "logs"
    aws_cloudwatch_metric_alarm    = "cloudwatch"
    aws_cloudwatch_composite_alarm = "cloudwatch"
    aws_dynamodb                   = "dynamodb"
    aws_iam_role                   = "iam"
    aws_kinesis_firehose           = "firehose"
    aws_kms                        = "kms"
    aws_lambda                     = "lambda"
    aws_s3                         = "s3"
    aws_secretsmanager             = "secretsmanager"
    aws_sns                        = "sns"
    aws_sqs                        = "sqs"
    aws_ssm                        = "ssm"
  }
}

run "state_key_admits_only_deploy_roles_and_administrators" {
  command = plan

  assert {
    condition     = !strcontains(jsonencode(local.state_key_policy), ":root")
    error_message = "The state key's policy must not delegate to the account root (IAM alone would then grant it)."
  }
  assert {
    condition = toset(flatten([for st in local.state_key_policy.Statement : st.Principal.AWS])) == toset(concat(
      var.admin_principal_arns,
      ["arn:aws:iam::123456789012:role/items-deploy-dev", "arn:aws:iam::123456789012:role/items-deploy-staging", "arn:aws:iam::123456789012:role/items-deploy-prod"],
      ["arn:aws:iam::123456789012:role/items-plan-dev", "arn:aws:iam::123456789012:role/items-plan-staging", "arn:aws:iam::123456789012:role/items-plan-prod"],
    ))
    error_message = "Key policy principals: ${jsonencode([for st in local.state_key_policy.Statement : st.Principal])}"
  }
  assert {
    condition     = one([for st in local.state_key_policy.Statement : st.Action if st.Sid == "PlanRolesReadStateThroughS3"]) == ["kms:Decrypt", "kms:DescribeKey"]
    error_message = "Plan roles may only decrypt."
  }
  assert {
    condition     = aws_kms_key.state.enable_key_rotation
    error_message = "The state key rotates."
  }
}

run "state_bucket_is_private_versioned_tls_only_and_sse_kms" {
  command = plan

  assert {
    condition     = aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled"
    error_message = "State bucket must be versioned."
  }
  assert {
    condition     = alltrue([aws_s3_bucket_public_access_block.state.block_public_acls, aws_s3_bucket_public_access_block.state.block_public_policy, aws_s3_bucket_public_access_block.state.ignore_public_acls, aws_s3_bucket_public_access_block.state.restrict_public_buckets])
    error_message = "Public access must be blocked."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "Default encryption must be SSE-KMS."
  }
  assert {
    condition     = contains([for st in local.state_bucket_policy.Statement : st.Sid], "DenyInsecureTransport")
    error_message = "TLS-only policy missing."
  }
  assert {
    condition = toset(one([for st in local.state_bucket_policy.Statement : st.Condition.ArnNotEquals["aws:PrincipalArn"] if st.Sid == "DenyEveryoneButDeployRolesAndAdministrators"])) == toset(concat(
      var.admin_principal_arns, values(local.plan_role_arns), values(local.deploy_role_arns)
    ))
    error_message = "Only the stage roles and administrators may use the bucket."
  }
  assert {
    condition = one([for st in local.state_bucket_policy.Statement : st.Condition.ArnNotEquals["aws:PrincipalArn"] if st.Sid == "OnlyStageProdRolesTouchItsState"]) == concat(
      var.admin_principal_arns, ["arn:aws:iam::123456789012:role/items-plan-prod", "arn:aws:iam::123456789012:role/items-deploy-prod"]
    )
    error_message = "Prod's state must be out of reach of the other stages' roles."
  }
}

run "roles_trust_github_per_stage" {
  # apply (mocked): the trust policies name the OIDC provider, known only after it exists.
  command = apply

  assert {
    condition     = jsondecode(aws_iam_role.deploy["prod"].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == "repo:acme/items:environment:prod"
    error_message = "Only jobs in the prod environment may assume the prod deploy role."
  }
  assert {
    condition = jsondecode(aws_iam_role.plan["dev"].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == [
      "repo:acme/items:pull_request", "repo:acme/items:ref:refs/heads/main",
    ]
    error_message = "Plan roles: pull requests and main only."
  }
  assert {
    condition     = alltrue([for r in values(aws_iam_role.deploy) : jsondecode(r.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"])
    error_message = "Tokens must be minted for STS."
  }
}

run "plan_roles_are_read_only" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for st in local.plan_policies["prod"].Statement : [
        for a in flatten([st.Action]) : can(regex("^[a-z0-9-]+:(Describe|Get|List)", a)) || a == "kms:Decrypt" || a == "apigateway:GET"
      ]
    ]))
    error_message = "A plan role may only read: ${jsonencode(flatten([for st in local.plan_policies["prod"].Statement : st.Action]))}"
  }
  assert {
    condition     = !strcontains(jsonencode(local.plan_policies["dev"]), ".tflock")
    error_message = "Plan roles never take the state lock (plans run -lock=false)."
  }
}

run "deploy_roles_stay_inside_their_stage" {
  command = plan

  assert {
    # Every action granted on "*" is a read, or is held to the stage by a condition.
    condition = alltrue([
      for st in local.deploy_policies["dev"].Statement : st.Effect == "Deny" || st.Resource != "*" || can(st.Condition) || alltrue([
        for a in flatten([st.Action]) : can(regex("^[a-z0-9-]+:(Describe|Get|List)", a))
      ])
    ])
    error_message = "Unconditioned writes on *: ${jsonencode([for st in local.deploy_policies["dev"].Statement : st.Sid if st.Resource == "*" && !can(st.Condition)])}"
  }
  assert {
    condition     = !strcontains(jsonencode(local.deploy_policies["dev"]), "items-prod") && !strcontains(jsonencode(local.deploy_policies["dev"]), "stages/prod")
    error_message = "The dev deploy role names nothing of prod."
  }
  assert {
    condition     = one([for st in local.deploy_policies["dev"].Statement : st.Condition.StringEquals["iam:PermissionsBoundary"] if st.Sid == "StageRolesOnlyWithinTheBoundary"]) == "arn:aws:iam::123456789012:policy/items-dev-boundary"
    error_message = "Roles the stage creates must carry the stage's boundary."
  }
  assert {
    # The deploy role's own name is outside <project>-<stage>-*: it cannot rewrite itself.
    condition     = !can(regex("^items-dev-", aws_iam_role.deploy["dev"].name))
    error_message = "Deploy role name ${aws_iam_role.deploy["dev"].name} falls inside the stage's role prefix."
  }
  assert {
    # IAM quotas: 10,240 characters of inline policy per role, 6,144 per managed policy.
    condition     = alltrue([for s in var.stages : length(jsonencode(local.deploy_policies[s])) < 10240 && length(jsonencode(local.plan_policies[s])) < 10240 && length(jsonencode(local.boundary_policies[s])) < 6144])
    error_message = "A policy exceeds its IAM size quota: ${jsonencode({ for s in var.stages : s => [length(jsonencode(local.deploy_policies[s])), length(jsonencode(local.plan_policies[s])), length(jsonencode(local.boundary_policies[s]))] })}"
  }
}

run "deploy_roles_cover_every_kind_of_resource_the_stages_define" {
  command = plan

  variables {
    found = distinct(flatten([
      for f in concat(
        # Relative to the bootstrap folder, where `terraform test` runs.
        [for m in fileset("../modules", "*/*.tf") : "../modules/${m}"],
        [for m in fileset("..", "*.tf") : "../${m}"],
      ) : [for r in regexall("resource \"(aws_[a-z0-9_]+)\"", file(f)) : r[0]]
    ]))
  }

  assert {
    condition = length([
      for t in var.found : t if !anytrue([
        for prefix, service in var.resource_services : startswith(t, prefix) && strcontains(jsonencode(local.deploy_policies["dev"]), "\"${service}:")
      ])
    ]) == 0
    error_message = "The deploy roles hold no actions for: ${join(", ", [for t in var.found : t if !anytrue([for prefix, service in var.resource_services : startswith(t, prefix) && strcontains(jsonencode(local.deploy_policies["dev"]), "\"${service}:")])])} (add the service to terraform/bootstrap/policies.tf and its prefix here)."
  }
}

run "a_caller_outside_the_administrators_is_refused" {
  command = plan

  variables {
    admin_principal_arns = ["arn:aws:iam::123456789012:role/someone-else"]
  }

  expect_failures = [aws_kms_key.state]
}
