output "queue_urls" {
  description = "Queue URL of each worker."
  value       = { for name, w in module.worker : name => w.queue_url }
}

output "sqs_endpoint_id" {
  description = "The one SQS endpoint all workers share."
  value       = module.services.sqs_endpoint_id
}

output "worker_endpoint_ids" {
  description = "The endpoint each worker's producer uses (all the same)."
  value       = { for name, w in module.worker : name => w.endpoint_id }
}
