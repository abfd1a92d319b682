locals {
  s3 = one(privatelink_service_endpoint_bundle.app.endpoint)
}

output "bundle_id" {
  value = privatelink_service_endpoint_bundle.app.id
}

output "security_group_id" {
  description = "The group on the S3 endpoint's interfaces (TCP 443 in from the Lambda's group, nothing out)."
  value       = privatelink_service_endpoint_bundle.app.security_group_id
}

output "s3_endpoint_id" {
  value = local.s3.id
}

output "s3_dns_names" {
  description = "The endpoint's own names; with private DNS on, the SDK's default S3 names resolve to it as well."
  value       = local.s3.dns_names
}

output "s3_private_dns_only_for_inbound_resolver_endpoint" {
  description = "false: clients in the VPC resolve S3 to this endpoint (not only inbound Resolver endpoints)."
  value       = local.s3.private_dns_only_for_inbound_resolver_endpoint
}

output "app_function_name" {
  value = var.app_function_name
}
