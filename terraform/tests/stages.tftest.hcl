# The root module in the workspace `terraform test` runs in: every stage's wiring, in seconds, with a
# mocked AWS provider. tests/terraform/test_tftest.py runs this file once per stage (TF_WORKSPACE) with
# that stage's build as artifact_dir; plans and applies against moto stay in tests/terraform.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "stage_plans_from_its_settings" {
  command = plan

  assert {
    condition     = output.stage == terraform.workspace && output.region == jsondecode(file("stages/${terraform.workspace}.json")).region
    error_message = "Workspace ${terraform.workspace} planned stage ${output.stage} in ${output.region}."
  }
  assert {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+", output.version))
    error_message = "The stage's version (${output.version}) is not a semantic version from pyproject.toml."
  }
  assert {
    # Every manifest with a route becomes an API route, and only those (adding one needs no Terraform).
    condition     = jsonencode(keys(module.functions.routes)) == jsonencode(sort([for f in fileset("../functions", "*/function.json") : dirname(f) if can(jsondecode(file("../functions/${f}")).route)]))
    error_message = "Routes ${jsonencode(keys(module.functions.routes))} do not match the routed manifests."
  }
  assert {
    condition     = alltrue([for name, r in module.functions.routes : r.api_key_required && r.method == upper(r.method)])
    error_message = "Every route needs an API key: ${jsonencode(module.functions.routes)}"
  }
}

run "every_function_stream_and_queue_is_alarmed" {
  command = plan

  assert {
    # Errors and throttles per function; per stream consumer iterator age, stall, on-failure and
    # dropped batches and destination delivery failures; depth per dead-letter queue (one per
    # asynchronous function, one per queue consumer); and API 5xx, API p99, DynamoDB throttles, Firehose delivery and
    # freshness, and the audit canary.
    condition = length(module.alarms.alarm_names) == (
      2 * length(local.manifests)
      + 5 * length([for m in values(local.manifests) : m if can(m.events.dynamodb_stream)])
      + length([for m in values(local.manifests) : m if !can(m.route) && !can(m.authorizer) && !can(m.events.dynamodb_stream) && !can(m.events.sqs)])
      + length([for m in values(local.manifests) : m if can(m.events.sqs)])
      + 6
    )
    error_message = "Alarms: ${jsonencode(module.alarms.alarm_names)}"
  }
  assert {
    condition     = alltrue([for n in module.alarms.alarm_names : startswith(n, "${local.name_prefix}-")])
    error_message = "Alarm names must carry the stage prefix ${local.name_prefix}."
  }
}
