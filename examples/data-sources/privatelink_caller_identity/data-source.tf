data "privatelink_caller_identity" "current" {}

output "account_id" {
  value = data.privatelink_caller_identity.current.account_id
}
