locals {
  provisioned = var.billing_mode == "PROVISIONED"
  autoscale   = local.provisioned && var.autoscaling != null
  # Capacity the table starts with; autoscaling moves it within [min, max] afterwards.
  read_capacity  = local.provisioned ? try(var.autoscaling.read.min, var.provisioned_capacity.read) : null
  write_capacity = local.provisioned ? try(var.autoscaling.write.min, var.provisioned_capacity.write) : null
  gsi_names      = [for g in var.spec.global_secondary_indexes : g.name]

  # Autoscaled dimensions: the table and each GSI, for reads and writes.
  scaling = local.autoscale ? merge(
    {
      for dim in ["read", "write"] : "table-${dim}" => {
        resource_id = "table/${var.name}"
        dimension   = "dynamodb:table:${title(dim)}CapacityUnits"
        metric      = "DynamoDB${title(dim)}CapacityUtilization"
        settings    = var.autoscaling[dim]
      }
    },
    {
      for pair in setproduct(local.gsi_names, ["read", "write"]) : "${pair[0]}-${pair[1]}" => {
        resource_id = "table/${var.name}/index/${pair[0]}"
        dimension   = "dynamodb:index:${title(pair[1])}CapacityUnits"
        metric      = "DynamoDB${title(pair[1])}CapacityUtilization"
        settings    = var.autoscaling[pair[1]]
      }
    },
  ) : {}
}

# The single table; its keys, GSIs, TTL attribute and stream view come from shared/apikit/table.json.
resource "aws_dynamodb_table" "this" {
  name                        = var.name
  billing_mode                = var.billing_mode
  hash_key                    = var.spec.hash_key
  range_key                   = var.spec.range_key
  read_capacity               = local.read_capacity
  write_capacity              = local.write_capacity
  stream_enabled              = true
  stream_view_type            = var.spec.stream_view_type
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = var.spec.attributes
    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.spec.global_secondary_indexes
    content {
      name            = global_secondary_index.value.name
      hash_key        = global_secondary_index.value.hash_key
      range_key       = global_secondary_index.value.range_key
      projection_type = global_secondary_index.value.projection_type
      read_capacity   = local.read_capacity
      write_capacity  = local.write_capacity
    }
  }

  ttl {
    attribute_name = var.spec.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.pitr
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  dynamic "replica" {
    for_each = var.replicas
    content {
      region_name            = replica.value.region_name
      kms_key_arn            = try(replica.value.kms_key_arn, null)
      point_in_time_recovery = var.pitr
      propagate_tags         = true
    }
  }

  lifecycle {
    # Autoscaling owns the capacity once it is on.
    ignore_changes = [read_capacity, write_capacity]

    precondition {
      condition     = !(var.billing_mode == "PAY_PER_REQUEST" && var.autoscaling != null)
      error_message = "Autoscaling only applies to billing_mode PROVISIONED."
    }
  }
}

resource "aws_appautoscaling_target" "this" {
  for_each = local.scaling

  service_namespace  = "dynamodb"
  resource_id        = each.value.resource_id
  scalable_dimension = each.value.dimension
  min_capacity       = each.value.settings.min
  max_capacity       = each.value.settings.max

  depends_on = [aws_dynamodb_table.this]
}

resource "aws_appautoscaling_policy" "this" {
  for_each = local.scaling

  name               = "${var.name}-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = each.value.settings.target_utilization

    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
  }
}
