resource "privatelink_private_lambda_pipeline" "orders" {
  name       = "orders"
  vpc_id     = aws_vpc.main.id
  subnet_ids = [aws_subnet.private_a.id, aws_subnet.private_b.id]

  producer {
    source_dir = "${path.module}/producer"
    handler    = "index.handler"
    runtime    = "python3.12"
    timeout    = 10
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
    delete = "45m"
  }
}
