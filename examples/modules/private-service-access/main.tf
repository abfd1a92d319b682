# Private access to AWS services for functions in subnets with no NAT: one
# bundle of VPC endpoints behind one security group that admits only the
# client groups.
resource "privatelink_service_endpoint_bundle" "this" {
  name                       = var.name
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.subnet_ids
  route_table_ids            = var.route_table_ids
  allowed_security_group_ids = var.client_security_group_ids

  dynamic "endpoint" {
    for_each = var.services
    content {
      service = endpoint.value
    }
  }

  dynamic "endpoint" {
    for_each = var.gateway_services
    content {
      service = endpoint.value
      type    = "Gateway"
    }
  }

  tags = var.tags
}
