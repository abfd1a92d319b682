# Terraform 1.5+ (check blocks); on older Terraform delete this file.
#
# Every plan re-checks that the function, in its private subnets, still
# reaches S3 through the endpoint: security groups both ways, network ACLs,
# DNS, routes and the endpoint's policy for the two actions it uses. A
# broken hop shows as a warning that names the object and the fix. A hop
# the resource owns (its groups' rules, its endpoint) changed by hand is
# also drift that the next apply repairs: then the plan shows the repair
# and leaves the check to after the apply; `terraform plan -refresh-only`
# shows the check's finding. (Why the
# data block is outside the check: see examples/private-lambda-sqs/checks.tf.)
data "privatelink_reachability" "reader" {
  function_name = privatelink_private_function.reader.function_arn
  services      = ["s3"]
  actions       = { s3 = ["s3:ListBucket", "s3:GetObject"] }
}

check "reader_reaches_s3" {
  assert {
    condition = data.privatelink_reachability.reader.reachable
    error_message = join("\n", [
      for f in data.privatelink_reachability.reader.findings : "${f.service}: ${f.message} Fix: ${f.fix}"
    ])
  }
}
