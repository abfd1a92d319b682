locals {
  # The endpoint blocks by service, so outputs do not depend on their order.
  endpoints = { for e in privatelink_service_endpoint_bundle.app.endpoint : e.service => e }
}

output "bundle_id" {
  value = privatelink_service_endpoint_bundle.app.id
}

output "security_group_id" {
  description = "The group on the SQS endpoint's interfaces (TCP 443 in from the Lambda's group, nothing out)."
  value       = privatelink_service_endpoint_bundle.app.security_group_id
}

output "s3_endpoint_id" {
  value = local.endpoints["s3"].id
}

output "s3_prefix_list_id" {
  description = "S3's prefix list: the Lambda's group needs egress TCP 443 to it to reach S3 through the Gateway endpoint."
  value       = local.endpoints["s3"].prefix_list_id
}

output "sqs_dns_names" {
  value = local.endpoints["sqs"].dns_names
}

output "app_function_name" {
  value = var.app_function_name
}
