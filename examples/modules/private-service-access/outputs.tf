output "endpoint_ids" {
  description = "Endpoint id by service (sqs => vpce-...)."
  value       = { for e in privatelink_service_endpoint_bundle.this.endpoint : e.service => e.id }
}

output "sqs_endpoint_id" {
  description = "The SQS Interface endpoint, for privatelink_private_lambda_pipeline's endpoint_id (null without sqs)."
  value       = lookup({ for e in privatelink_service_endpoint_bundle.this.endpoint : e.service => e.id }, "sqs", null)
}

output "security_group_id" {
  description = "The security group in front of the Interface endpoints."
  value       = privatelink_service_endpoint_bundle.this.security_group_id
}

output "dns_names" {
  description = "DNS names of each Interface endpoint, by service."
  value       = { for e in privatelink_service_endpoint_bundle.this.endpoint : e.service => e.dns_names if e.type == "Interface" }
}
