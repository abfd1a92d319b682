# terraform test for the module (Terraform 1.6 and later), against AWS or an
# emulator. The network comes in on the command line; the module makes its
# endpoints in it, the runs check the outputs, and terraform test destroys
# everything at the end:
#
#   AWS_ENDPOINT_URL=http://127.0.0.1:5000 terraform test \
#     -var vpc_id=vpc-... -var 'subnet_ids=["subnet-..."]' \
#     -var 'route_table_ids=["rtb-..."]' -var 'client_security_group_ids=["sg-..."]'
#
# The emulator's URL comes from AWS_ENDPOINT_URL (the AWS SDK reads it for
# every service), not from an endpoints block on a variable: Terraform 1.6
# evaluates a test file's provider block against the module's own variables
# only, and this module has no aws_endpoint.

provider "privatelink" {
  region = "us-east-1"
}

variables {
  name             = "tftest-services"
  services         = ["sqs", "sts"]
  gateway_services = ["s3"]
}

run "rejects_interface_service_as_gateway" {
  command = plan

  variables {
    gateway_services = ["sqs"]
  }

  expect_failures = [var.gateway_services]
}

run "rejects_repeated_service" {
  command = plan

  variables {
    services = ["sqs", "sqs"]
  }

  expect_failures = [var.services]
}

run "creates_endpoints" {
  command = apply

  assert {
    condition     = startswith(output.sqs_endpoint_id, "vpce-")
    error_message = "sqs_endpoint_id is not a VPC endpoint id (vpce-...)."
  }

  assert {
    condition     = keys(output.endpoint_ids) == ["s3", "sqs", "sts"]
    error_message = "endpoint_ids should have one entry per service (s3, sqs, sts)."
  }

  assert {
    condition     = alltrue([for id in values(output.endpoint_ids) : startswith(id, "vpce-")]) && length(distinct(values(output.endpoint_ids))) == 3
    error_message = "Each service should have its own endpoint, with a vpce- id."
  }

  assert {
    condition     = output.endpoint_ids["sqs"] == output.sqs_endpoint_id
    error_message = "sqs_endpoint_id is not the sqs entry of endpoint_ids."
  }

  assert {
    condition     = startswith(output.security_group_id, "sg-") && !contains(var.client_security_group_ids, output.security_group_id)
    error_message = "security_group_id should be a new group (sg-...), not a client group."
  }

  assert {
    condition     = keys(output.dns_names) == ["sqs", "sts"]
    error_message = "dns_names should list the Interface endpoints only (sqs, sts), not the s3 Gateway endpoint."
  }
}

run "drops_sqs_in_place" {
  command = apply

  variables {
    services = ["sts"]
  }

  assert {
    condition     = output.sqs_endpoint_id == null
    error_message = "sqs_endpoint_id should be null once sqs is no longer a service."
  }

  assert {
    condition     = keys(output.endpoint_ids) == ["s3", "sts"]
    error_message = "endpoint_ids should have s3 and sts only."
  }

  assert {
    condition     = output.endpoint_ids["sts"] == run.creates_endpoints.endpoint_ids["sts"] && output.endpoint_ids["s3"] == run.creates_endpoints.endpoint_ids["s3"]
    error_message = "The sts and s3 endpoints should be kept, not replaced."
  }

  assert {
    condition     = output.security_group_id == run.creates_endpoints.security_group_id
    error_message = "The endpoints' security group should be kept."
  }
}
