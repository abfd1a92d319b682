# Terraform 1.5+ (check blocks). Every plan and apply re-checks that the
# application function reaches S3 through the Interface endpoint, including
# the endpoint policy for the two actions it uses. Older Terraform: delete
# this file.
check "app_reaches_s3" {
  data "privatelink_reachability" "app" {
    function_name = var.app_function_name
    services      = ["s3"]
    actions       = { s3 = ["s3:ListBucket", "s3:GetObject"] }
    depends_on    = [privatelink_service_endpoint_bundle.app]
  }

  assert {
    condition = data.privatelink_reachability.app.reachable
    error_message = join("\n", [
      for f in data.privatelink_reachability.app.findings : "${f.service}: ${f.message} Fix: ${f.fix}"
    ])
  }
}
