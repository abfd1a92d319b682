# Does the function reach SQS and S3 from its private subnets, and may it
# send and read there? One read per hop, batched; nothing is changed.
data "privatelink_reachability" "orders" {
  function_name = "orders-producer"
  services      = ["sqs", "s3"]
  actions = {
    sqs = ["sqs:SendMessage"]
    s3  = ["s3:GetObject"]
  }
}

output "reachable" {
  value = data.privatelink_reachability.orders.reachable
}

output "findings" {
  value = [for f in data.privatelink_reachability.orders.findings : "${f.service}: ${f.message} Fix: ${f.fix}"]
}
