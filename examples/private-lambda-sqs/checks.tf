# Terraform 1.5+ (check blocks); on older Terraform delete this file.
#
# Every plan re-checks that the producer, in its private subnet, still
# reaches SQS through the endpoint: security groups both ways, network ACLs,
# DNS, routes and the endpoint's policy for the one action it needs. A
# broken hop shows as a warning that names the object and the fix.
#
# The data block sits outside the check on purpose: one nested in it would
# be read again at every apply, so every plan would list it and
# `plan -detailed-exitcode` would never answer "no changes".
data "privatelink_reachability" "producer" {
  function_name = privatelink_private_lambda_pipeline.orders.producer_function_arn
  services      = ["sqs"]
  actions       = { sqs = ["sqs:SendMessage"] }
}

check "producer_reaches_sqs" {
  assert {
    condition = data.privatelink_reachability.producer.reachable
    error_message = join("\n", [
      for f in data.privatelink_reachability.producer.findings : "${f.service}: ${f.message} Fix: ${f.fix}"
    ])
  }
}
