output "function_arn" {
  value = privatelink_private_function.reader.function_arn
}

output "role_arn" {
  description = "The function's role: its network interfaces, its own log group, and s3:GetObject and s3:ListBucket on the bucket."
  value       = privatelink_private_function.reader.role_arn
}

output "security_group_id" {
  description = "The function's group: egress TCP 443 to the endpoint's group only, no ingress."
  value       = privatelink_private_function.reader.security_group_id
}

output "endpoint_security_group_id" {
  description = "The S3 endpoint's group: ingress TCP 443 from the function's group only."
  value       = privatelink_private_function.reader.endpoint_security_group_id
}

output "s3_endpoint_id" {
  value = privatelink_private_function.reader.endpoints["s3"]
}

output "log_group_name" {
  description = "/aws/lambda/metadata-reader, made before the function and deleted after it."
  value       = privatelink_private_function.reader.function.log_group_name
}

output "code_sha256" {
  description = "Base64 SHA-256 of the deployed zip of src/."
  value       = privatelink_private_function.reader.function.code_sha256
}
