# Nothing plans where the stage guard refuses: run (tests/terraform/test_tftest.py) in the `default`
# workspace, and in workspaces whose stage files the test writes into its private copy of the root
# module: an emulated stage asking for provisioned concurrency, table autoscaling, SnapStart, the ADOT
# layer or SLO (composite) alarms, none of which moto can apply.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "the_stage_guard_refuses_before_anything_is_created" {
  command = plan

  expect_failures = [terraform_data.stage_guard]
}
