# Nothing plans where the stage guard refuses: run (tests/terraform/test_tftest.py) in the `default`
# workspace, and in workspaces whose stage files the test writes into its private copy of the root
# module: an emulated stage asking for provisioned concurrency, or for table autoscaling (moto and
# LocalStack cannot apply either; the stage schema refuses both, so no committed file can hold them).

mock_provider "aws" {
  source = "./tests/mocks"
}

run "the_stage_guard_refuses_before_anything_is_created" {
  command = plan

  expect_failures = [terraform_data.stage_guard]
}
