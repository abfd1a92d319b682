# The network usually comes from hashicorp/aws resources in the same
# configuration (vpc_id = aws_vpc.main.id, subnet_ids =
# aws_subnet.private[*].id); here it comes in as variables. producer/ and
# consumer/ beside this file hold each function's handler (index.py).
variable "vpc_id" { type = string }
variable "private_subnet_ids" { type = list(string) }

resource "privatelink_private_lambda_pipeline" "orders" {
  name       = "orders"
  vpc_id     = var.vpc_id
  subnet_ids = var.private_subnet_ids

  producer {
    source_dir            = "${path.module}/producer"
    handler               = "index.handler"
    runtime               = "python3.12"
    timeout               = 10
    log_retention_in_days = 14
    environment = {
      LOG_LEVEL = "info"
    }
  }

  consumer {
    source_dir  = "${path.module}/consumer"
    handler     = "index.handler"
    runtime     = "python3.12"
    timeout     = 30
    memory_size = 256
  }

  queue {
    max_receive_count             = 4
    dead_letter_retention_seconds = 1209600
    receive_wait_time_seconds     = 20
  }

  event_source {
    batch_size                      = 10
    maximum_batching_window_seconds = 5
    report_batch_item_failures      = true
    maximum_concurrency             = 10
    filter_patterns                 = [jsonencode({ body = { type = ["order"] } })]
  }

  tags = {
    service = "orders"
  }

  timeouts {
    delete = "60m"
  }
}
