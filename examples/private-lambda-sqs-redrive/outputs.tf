output "queue_url" {
  value = privatelink_private_lambda_pipeline.orders.queue_url
}

output "dead_letter_queue_arn" {
  description = "What the action redrives."
  value       = privatelink_private_lambda_pipeline.orders.dead_letter_queue_arn
}
