# terraform test for the module (Terraform 1.6 and later), against AWS or an
# emulator. The network comes in on the command line; terraform test
# destroys what the runs made at the end of each file:
#
#   AWS_ENDPOINT_URL=http://127.0.0.1:5000 terraform test \
#     -var vpc_id=vpc-... -var 'subnet_ids=["subnet-..."]' \
#     -var 'client_security_group_ids=["sg-..."]'
#
# The emulator's URL comes from AWS_ENDPOINT_URL (the AWS SDK reads it for
# every service), not from an endpoints block on a variable: Terraform 1.6
# evaluates a test file's provider block against the module's own variables
# only, and this module has no aws_endpoint.
#
# This file: the worker on the SQS endpoint of the private-service-access
# module, as examples/platform composes them. client_security_group_ids is
# the group that endpoint admits, and the group the producer joins.

provider "privatelink" {
  region = "us-east-1"
}

variables {
  name                = "tftest-shared"
  producer_source_dir = "../../private-lambda-sqs/producer"
  consumer_source_dir = "../../private-lambda-sqs/consumer"
}

# Setup: the VPC's one SQS endpoint, from the sibling module (its source is
# relative to this module's directory).
run "service_access" {
  command = apply

  module {
    source = "../private-service-access"
  }

  variables {
    name     = "tftest-shared"
    services = ["sqs"]
  }

  assert {
    condition     = startswith(output.sqs_endpoint_id, "vpce-")
    error_message = "The setup module made no SQS endpoint."
  }
}

run "uses_shared_endpoint" {
  command = apply

  variables {
    sqs_endpoint_id = run.service_access.sqs_endpoint_id
  }

  assert {
    condition     = output.endpoint_id == run.service_access.sqs_endpoint_id
    error_message = "The worker should use the endpoint of private-service-access, not make its own."
  }

  assert {
    condition     = endswith(output.queue_url, "/${var.name}") && endswith(output.dead_letter_queue_url, "/${var.name}-dlq")
    error_message = "The queue URLs should end with the worker's name (NAME, NAME-dlq)."
  }

  assert {
    condition     = endswith(output.producer_function_arn, ":function:${var.name}-producer") && endswith(output.consumer_function_arn, ":function:${var.name}-consumer")
    error_message = "The functions should be named after the worker (NAME-producer, NAME-consumer)."
  }
}
