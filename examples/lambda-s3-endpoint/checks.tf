# Terraform 1.5+ (check blocks). Every plan and apply re-checks that the
# application function reaches S3 (for the two actions it uses) and SQS
# through the bundle's endpoints. A broken hop shows as a warning that names
# the object and the fix. Older Terraform: delete this file.
check "app_reaches_its_services" {
  data "privatelink_reachability" "app" {
    function_name = var.app_function_name
    services      = ["s3", "sqs"]
    actions       = { s3 = ["s3:ListBucket", "s3:GetObject"] }
    # Read once the endpoints exist, not before.
    depends_on = [privatelink_service_endpoint_bundle.app]
  }

  assert {
    condition = data.privatelink_reachability.app.reachable
    error_message = join("\n", [
      for f in data.privatelink_reachability.app.findings : "${f.service}: ${f.message} Fix: ${f.fix}"
    ])
  }
}
