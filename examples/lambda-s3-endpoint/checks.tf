# Terraform 1.5+ (check blocks); on older Terraform delete this file.
#
# Every plan re-checks that the application function reaches S3 (for the
# two actions it uses) and SQS through the bundle's endpoints. A broken hop
# shows as a warning that names the object and the fix. (Why the data
# block is outside the check: see examples/private-lambda-sqs/checks.tf.)
data "privatelink_reachability" "app" {
  function_name = var.app_function_name
  services      = ["s3", "sqs"]
  actions       = { s3 = ["s3:ListBucket", "s3:GetObject"] }
  # Read once the endpoints exist, not before.
  depends_on = [privatelink_service_endpoint_bundle.app]
}

check "app_reaches_its_services" {
  assert {
    condition = data.privatelink_reachability.app.reachable
    error_message = join("\n", [
      for f in data.privatelink_reachability.app.findings : "${f.service}: ${f.message} Fix: ${f.fix}"
    ])
  }
}
