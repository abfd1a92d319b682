output "queue_url" {
  description = "URL of the worker's queue."
  value       = privatelink_private_lambda_pipeline.this.queue_url
}

output "queue_arn" {
  description = "ARN of the worker's queue."
  value       = privatelink_private_lambda_pipeline.this.queue_arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = privatelink_private_lambda_pipeline.this.dead_letter_queue_url
}

output "producer_function_arn" {
  description = "ARN of the producer function."
  value       = privatelink_private_lambda_pipeline.this.producer_function_arn
}

output "consumer_function_arn" {
  description = "ARN of the consumer function."
  value       = privatelink_private_lambda_pipeline.this.consumer_function_arn
}

output "endpoint_id" {
  description = "The SQS endpoint the producer uses (shared or its own)."
  value       = privatelink_private_lambda_pipeline.this.endpoint_id
}
