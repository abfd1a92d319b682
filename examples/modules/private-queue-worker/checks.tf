# Terraform 1.5+ (check blocks); callers on older Terraform delete this
# file.
#
# Every plan re-checks that the producer reaches SQS (its own endpoint or
# a shared one) and may send to it; a shared endpoint's group must admit
# the producer, which this catches. The data block is outside the check so
# that a plan with nothing to do still says "no changes".
data "privatelink_reachability" "producer" {
  function_name = privatelink_private_lambda_pipeline.this.producer_function_arn
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
