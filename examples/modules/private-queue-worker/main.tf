# A queue worker: a private producer (no NAT) sends to SQS through an
# Interface endpoint, a consumer takes the messages from an event source
# mapping. With sqs_endpoint_id the worker shares an endpoint instead of
# making one (a VPC has room for one SQS endpoint with private DNS).
resource "privatelink_private_lambda_pipeline" "this" {
  name       = var.name
  vpc_id     = var.vpc_id
  subnet_ids = var.subnet_ids

  producer {
    source_dir         = var.producer_source_dir
    handler            = var.handler
    runtime            = var.runtime
    memory_size        = var.producer_memory
    security_group_ids = var.client_security_group_ids
  }

  consumer {
    source_dir = var.consumer_source_dir
    handler    = var.handler
    runtime    = var.runtime
    timeout    = var.consumer_timeout
  }

  event_source {
    batch_size = var.batch_size
  }

  # Null endpoint_id: the pipeline makes the endpoint and its group.
  endpoint {
    endpoint_id = var.sqs_endpoint_id
  }

  tags = var.tags
}
