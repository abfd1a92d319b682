# Terraform 1.5+ (check blocks); on older Terraform delete this file.
#
# Every plan re-checks that the application function reaches S3 through
# the Interface endpoint, including the endpoint policy for the two actions
# it uses. (Why the data block is outside the check: see
# examples/private-lambda-sqs/checks.tf.)
data "privatelink_reachability" "app" {
  function_name = var.app_function_name
  services      = ["s3"]
  actions       = { s3 = ["s3:ListBucket", "s3:GetObject"] }
  depends_on    = [privatelink_service_endpoint_bundle.app]
}

check "app_reaches_s3" {
  assert {
    condition = data.privatelink_reachability.app.reachable
    error_message = join("\n", [
      for f in data.privatelink_reachability.app.findings : "${f.service}: ${f.message} Fix: ${f.fix}"
    ])
  }
}
