# The three policies per stage, as data (jsonencoded in iam.tf). P is <project>-<stage>.

locals {
  stage_scope = {
    for s in local.stages : s => {
      prefix   = "${var.project}-${s}"
      region   = local.home_region[s]
      boundary = "arn:${local.partition}:iam::${local.account_id}:policy/${var.project}-${s}-boundary"
      lambda   = "arn:${local.partition}:lambda:${local.home_region[s]}:${local.account_id}"
      # Everything the stage's root module names P-... (or /<project>/<stage>/... for parameters).
      named = concat(
        [for r in local.stage_regions[s] : "arn:${local.partition}:dynamodb:${r}:${local.account_id}:table/${var.project}-${s}-*"],
        [
          "arn:${local.partition}:lambda:${local.home_region[s]}:${local.account_id}:function:${var.project}-${s}-*",
          "arn:${local.partition}:lambda:${local.home_region[s]}:${local.account_id}:layer:${var.project}-${s}-*",
          "arn:${local.partition}:sqs:${local.home_region[s]}:${local.account_id}:${var.project}-${s}-*",
          "arn:${local.partition}:sns:${local.home_region[s]}:${local.account_id}:${var.project}-${s}-*",
          "arn:${local.partition}:firehose:${local.home_region[s]}:${local.account_id}:deliverystream/${var.project}-${s}-*",
          "arn:${local.partition}:events:${local.home_region[s]}:${local.account_id}:rule/${var.project}-${s}-*",
          "arn:${local.partition}:cloudwatch:${local.home_region[s]}:${local.account_id}:alarm:${var.project}-${s}-*",
          # The alarms Application Auto Scaling creates for the table's target tracking, in the caller's name.
          "arn:${local.partition}:cloudwatch:${local.home_region[s]}:${local.account_id}:alarm:TargetTracking-table/${var.project}-${s}-*",
          "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${var.project}-${s}-*",
          "arn:${local.partition}:ssm:${local.home_region[s]}:${local.account_id}:parameter/${var.project}/${s}/*",
          # The cursor key (<project>-<stage>/cursor-key plus Secrets Manager's random suffix).
          "arn:${local.partition}:secretsmanager:${local.home_region[s]}:${local.account_id}:secret:${var.project}-${s}/*",
          "arn:${local.partition}:logs:${local.home_region[s]}:${local.account_id}:log-group:/aws/lambda/${var.project}-${s}-*",
          "arn:${local.partition}:logs:${local.home_region[s]}:${local.account_id}:log-group:/aws/apigateway/${var.project}-${s}/*",
          "arn:${local.partition}:logs:${local.home_region[s]}:${local.account_id}:log-group:/aws/kinesisfirehose/${var.project}-${s}-*",
          "arn:${local.partition}:s3:::${var.project}-${s}-*",
        ],
      )
      roles       = "arn:${local.partition}:iam::${local.account_id}:role/${var.project}-${s}-*"
      objects     = "arn:${local.partition}:s3:::${var.project}-${s}-*/*"
      artifacts   = "arn:${local.partition}:s3:::${var.project}-${s}-artifacts-*/*"
      keys        = "arn:${local.partition}:kms:${local.home_region[s]}:${local.account_id}:key/*"
      aliases     = ["arn:${local.partition}:kms:${local.home_region[s]}:${local.account_id}:alias/${var.project}-${s}", "arn:${local.partition}:kms:${local.home_region[s]}:${local.account_id}:alias/${var.project}-${s}-*"]
      apis        = "arn:${local.partition}:apigateway:${local.home_region[s]}::/*"
      usage_plans = "arn:${local.partition}:apigateway:${local.home_region[s]}::/usageplans/*"
      tagged_this = { StringEqualsIfExists = { "aws:ResourceTag/Stage" = s } }
    }
  }

  # Reading (and decrypting through S3) this stage's state; never its lock file.
  state_read = {
    for s in local.stages : s => [
      { Sid = "StateList", Effect = "Allow", Action = "s3:ListBucket", Resource = local.bucket_arn },
      { Sid = "StateRead", Effect = "Allow", Action = "s3:GetObject", Resource = local.state_object_arns[s] },
      {
        Sid       = "StateDecrypt"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:DescribeKey"]
        Resource  = aws_kms_key.state.arn
        Condition = { StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" } }
      },
    ]
  }

  plan_policies = {
    for s, x in local.stage_scope : s => {
      Version = "2012-10-17"
      Statement = concat(local.state_read[s], [
        {
          Sid    = "ReadStageResources"
          Effect = "Allow"
          Action = [
            "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource",
            "dynamodb:Describe*", "dynamodb:GetResourcePolicy", "dynamodb:ListTagsOfResource",
            "events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule",
            "firehose:DescribeDeliveryStream", "firehose:ListTagsForDeliveryStream",
            "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:ListRoleTags",
            "lambda:Get*", "lambda:List*",
            "logs:DescribeLogStreams", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
            "s3:GetAccelerateConfiguration", "s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration", "s3:ListBucket",
            "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
            "sqs:GetQueueAttributes", "sqs:ListQueueTags",
            "ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource",
            "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
          ]
          Resource = concat(x.named, [x.roles])
        },
        # Object metadata of the code artifacts only: never the audit log's objects.
        { Sid = "ReadArtifacts", Effect = "Allow", Action = ["s3:GetObject", "s3:GetObjectTagging"], Resource = x.artifacts },
        {
          Sid    = "ReadWithoutResourceScope"
          Effect = "Allow"
          Action = [
            "acm:DescribeCertificate", "application-autoscaling:Describe*", "kms:ListAliases", "lambda:GetEventSourceMapping",
            "lambda:ListEventSourceMappings", "logs:DescribeLogGroups", "ssm:DescribeParameters",
          ]
          Resource = "*"
        },
        { Sid = "ReadApi", Effect = "Allow", Action = "apigateway:GET", Resource = x.apis },
        {
          Sid       = "ReadStageKeys"
          Effect    = "Allow"
          Action    = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
          Resource  = x.keys
          Condition = x.tagged_this
        },
        {
          # Refreshing the SecureString parameter decrypts it (its value is in state as well).
          Sid      = "DecryptParametersThroughSsm"
          Effect   = "Allow"
          Action   = "kms:Decrypt"
          Resource = x.keys
          Condition = merge(x.tagged_this, {
            StringEquals = { "kms:ViaService" = "ssm.${x.region}.amazonaws.com" }
          })
        },
      ])
    }
  }

  deploy_policies = {
    for s, x in local.stage_scope : s => {
      Version = "2012-10-17"
      Statement = concat(local.state_read[s], [
        { Sid = "StateWrite", Effect = "Allow", Action = "s3:PutObject", Resource = local.state_object_arns[s] },
        {
          Sid      = "StateLockFile"
          Effect   = "Allow"
          Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          Resource = "${local.state_object_arns[s]}.tflock"
        },
        {
          Sid       = "StateEncrypt"
          Effect    = "Allow"
          Action    = ["kms:Encrypt", "kms:GenerateDataKey"]
          Resource  = aws_kms_key.state.arn
          Condition = { StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" } }
        },
        {
          # Whatever the stage's resources need (create, change, destroy), on those resources only.
          Sid      = "StageResources"
          Effect   = "Allow"
          Action   = ["cloudwatch:*", "dynamodb:*", "events:*", "firehose:*", "lambda:*", "logs:*", "s3:*", "secretsmanager:*", "sns:*", "sqs:*", "ssm:*"]
          Resource = concat(x.named, [x.objects])
        },
        {
          Sid       = "StageEventSourceMappings"
          Effect    = "Allow"
          Action    = ["lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"]
          Resource  = "*"
          Condition = { ArnLike = { "lambda:FunctionArn" = "${x.lambda}:function:${x.prefix}-*" } }
        },
        {
          Sid      = "EventSourceMappingTags"
          Effect   = "Allow"
          Action   = ["lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"]
          Resource = "${x.lambda}:event-source-mapping:*"
        },
        {
          Sid    = "WithoutResourceScope"
          Effect = "Allow"
          Action = [
            "acm:DescribeCertificate", "kms:ListAliases", "lambda:ListEventSourceMappings", "logs:DescribeLogGroups",
            "ssm:DescribeParameters",
            # The cursor key's first value comes from an ephemeral random password (never in state).
            "secretsmanager:GetRandomPassword",
          ]
          Resource = "*"
        },
        # No names to scope by: resources tagged with another Stage are out of reach.
        { Sid = "StageApi", Effect = "Allow", Action = "apigateway:*", Resource = x.apis, Condition = x.tagged_this },
        { Sid = "StageAutoScaling", Effect = "Allow", Action = "application-autoscaling:*", Resource = "*", Condition = x.tagged_this },
        { Sid = "StageKeys", Effect = "Allow", Action = "kms:*", Resource = x.keys, Condition = x.tagged_this },
        {
          Sid       = "CreateStageKeys"
          Effect    = "Allow"
          Action    = "kms:CreateKey"
          Resource  = "*"
          Condition = { StringEquals = { "aws:RequestTag/Stage" = s } }
        },
        { Sid = "StageKeyAliases", Effect = "Allow", Action = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"], Resource = x.aliases },
        {
          Sid       = "StageRolesOnlyWithinTheBoundary"
          Effect    = "Allow"
          Action    = ["iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"]
          Resource  = x.roles
          Condition = { StringEquals = { "iam:PermissionsBoundary" = x.boundary } }
        },
        {
          Sid      = "AttachOnlyApiGatewayLogging"
          Effect   = "Allow"
          Action   = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
          Resource = x.roles
          Condition = {
            StringEquals = {
              "iam:PermissionsBoundary" = x.boundary
              "iam:PolicyARN"           = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            }
          }
        },
        {
          Sid    = "StageRoles"
          Effect = "Allow"
          Action = [
            "iam:DeleteRole", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
            "iam:ListRolePolicies", "iam:ListRoleTags", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
            "iam:UpdateRoleDescription",
          ]
          Resource = x.roles
        },
        {
          Sid       = "PassStageRolesToTheirServices"
          Effect    = "Allow"
          Action    = "iam:PassRole"
          Resource  = x.roles
          Condition = { StringEquals = { "iam:PassedToService" = ["apigateway.amazonaws.com", "firehose.amazonaws.com", "lambda.amazonaws.com"] } }
        },
        {
          Sid       = "DynamoDbAutoScalingServiceRole"
          Effect    = "Allow"
          Action    = "iam:CreateServiceLinkedRole"
          Resource  = "arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/*"
          Condition = { StringEquals = { "iam:AWSServiceName" = "dynamodb.application-autoscaling.amazonaws.com" } }
        },
        { Sid = "NeverLiftTheBoundary", Effect = "Deny", Action = "iam:DeleteRolePermissionsBoundary", Resource = "*" },
      ])
    }
  }

  boundary_policies = {
    for s, x in local.stage_scope : s => {
      Version = "2012-10-17"
      Statement = [
        {
          Sid    = "StageData"
          Effect = "Allow"
          Action = [
            "dynamodb:*", "events:PutEvents", "firehose:PutRecord", "firehose:PutRecordBatch", "lambda:GetFunctionConfiguration",
            "lambda:InvokeFunction", "s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
            "s3:ListBucketMultipartUploads", "s3:PutObject", "sns:Publish", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
            "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage", "ssm:GetParameter", "ssm:GetParameters",
            "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
          ]
          Resource = concat(x.named, [x.objects])
        },
        # GET /usage reads its partner's usage plan and usage (ids unknown here: any plan, read only).
        { Sid = "UsagePlansRead", Effect = "Allow", Action = "apigateway:GET", Resource = x.usage_plans },
        {
          Sid       = "StageKeys"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
          Resource  = x.keys
          Condition = { StringEquals = { "aws:ResourceTag/Stage" = s } }
        },
        {
          # Logs, traces and metrics have no stage-scoped resources (API Gateway's account-wide
          # logging role writes execution logs to groups API Gateway names).
          Sid    = "Telemetry"
          Effect = "Allow"
          Action = [
            "cloudwatch:PutMetricData", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
            "logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents", "logs:PutLogEvents",
            "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
          ]
          Resource = "*"
        },
      ]
    }
  }
}
