# Terraform 1.5+ (check blocks); callers on older Terraform delete this
# file.
#
# Every plan re-checks that a client in the module's subnets with the
# client groups reaches every service of the bundle: groups both ways,
# network ACLs, DNS and the Gateway endpoints' routes. The data block is
# outside the check so that a plan with nothing to do still says "no
# changes".
data "privatelink_reachability" "clients" {
  subnet_ids         = var.subnet_ids
  security_group_ids = var.client_security_group_ids
  services           = concat(var.services, var.gateway_services)
  depends_on         = [privatelink_service_endpoint_bundle.this]
}

check "clients_reach_every_service" {
  assert {
    condition = data.privatelink_reachability.clients.reachable
    error_message = join("\n", [
      for f in data.privatelink_reachability.clients.findings : "${f.service}: ${f.message} Fix: ${f.fix}"
    ])
  }
}
