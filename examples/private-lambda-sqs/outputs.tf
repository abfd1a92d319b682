output "queue_url" {
  value = privatelink_private_lambda_pipeline.orders.queue_url
}

output "dead_letter_queue_arn" {
  value = privatelink_private_lambda_pipeline.orders.dead_letter_queue_arn
}

output "producer_function_arn" {
  value = privatelink_private_lambda_pipeline.orders.producer_function_arn
}

output "consumer_function_arn" {
  value = privatelink_private_lambda_pipeline.orders.consumer_function_arn
}

output "event_source_mapping_id" {
  value = privatelink_private_lambda_pipeline.orders.event_source_mapping_id
}

output "endpoint_id" {
  description = "The SQS Interface endpoint the producer reaches the queue through."
  value       = privatelink_private_lambda_pipeline.orders.endpoint_id
}
