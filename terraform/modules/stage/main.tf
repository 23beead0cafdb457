# Creates nothing: it gives a stage file a type. Terraform converts the decoded stages/<stage>.json to
# var.settings' type, so a missing field or a wrong type fails the plan with Terraform's own message
# naming the attribute, and absent optional fields get their defaults. The conversion drops keys the
# type does not know; tests/terraform/test_stage_schema.py rejects those, against
# stages/stage.schema.json, which also holds what each field means.
