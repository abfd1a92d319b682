# Move the failed messages of pipeline "orders" back to its queue, at most
# 50 a second:
#   terraform apply -invoke=action.privatelink_dead_letter_redrive.orders
action "privatelink_dead_letter_redrive" "orders" {
  config {
    pipeline                = "orders"
    max_messages_per_second = 50
  }
}

# Any dead-letter queue, to a queue of your choice of the same type.
action "privatelink_dead_letter_redrive" "billing" {
  config {
    source_arn      = "arn:aws:sqs:us-east-1:123456789012:billing-dlq"
    destination_arn = "arn:aws:sqs:us-east-1:123456789012:billing-retry"
  }
}
