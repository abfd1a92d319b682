# The bundles that exist in the provider's region, found by the tags on
# their endpoints and security groups. Save as a .tfquery.hcl file next to
# a configuration that uses the privatelink provider and run
# `terraform query` (Terraform 1.14 or later).
list "privatelink_service_endpoint_bundle" "all" {
  provider = privatelink
}

# The bundles of one VPC whose names start with "core", each with its whole
# state, as `terraform query -generate-config-out=FILE` reads it.
list "privatelink_service_endpoint_bundle" "core" {
  provider         = privatelink
  include_resource = true

  config {
    vpc_id      = "vpc-0123456789abcdef0"
    name_prefix = "core"
  }
}
