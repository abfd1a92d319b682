# The private functions that exist in the provider's region, found by the
# tags on their security groups and endpoints. Save as a .tfquery.hcl file
# next to a configuration that uses the privatelink provider and run
# `terraform query` (Terraform 1.14 or later).
list "privatelink_private_function" "all" {
  provider = privatelink
}

# Those of one VPC whose names start with "metadata-", each with its whole
# state, as `terraform query -generate-config-out=FILE` reads it.
list "privatelink_private_function" "metadata" {
  provider         = privatelink
  include_resource = true
  limit            = 20

  config {
    vpc_id      = "vpc-0123456789abcdef0"
    name_prefix = "metadata-"
  }
}
