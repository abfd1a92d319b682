# terraform test for the module (Terraform 1.6 and later), against AWS or an
# emulator; tests/shared_endpoint.tftest.hcl tells how to run both files.
# This file: the worker with its own SQS endpoint.

provider "privatelink" {
  region = "us-east-1"
}

variables {
  name = "tftest-own"
  # Relative to the module's directory, where terraform test runs.
  producer_source_dir = "../../private-lambda-sqs/producer"
  consumer_source_dir = "../../private-lambda-sqs/consumer"
}

run "rejects_name_starting_with_sg" {
  command = plan

  variables {
    name = "sg-worker"
  }

  expect_failures = [var.name]
}

run "rejects_malformed_endpoint_id" {
  command = plan

  variables {
    sqs_endpoint_id = "sqs-0123"
  }

  expect_failures = [var.sqs_endpoint_id]
}

run "rejects_batch_size_above_ten" {
  command = plan

  variables {
    batch_size = 11
  }

  expect_failures = [var.batch_size]
}

run "makes_own_endpoint" {
  command = apply

  assert {
    condition     = startswith(output.endpoint_id, "vpce-")
    error_message = "endpoint_id is not a VPC endpoint id (vpce-...)."
  }

  assert {
    condition     = endswith(output.queue_url, "/${var.name}")
    error_message = "queue_url should end with the worker's name."
  }

  assert {
    condition     = endswith(output.dead_letter_queue_url, "/${var.name}-dlq")
    error_message = "dead_letter_queue_url should end with the worker's name and -dlq."
  }

  assert {
    condition     = startswith(output.queue_arn, "arn:aws:sqs:us-east-1:") && endswith(output.queue_arn, ":${var.name}")
    error_message = "queue_arn should be the ARN of the worker's queue."
  }

  assert {
    condition     = endswith(output.producer_function_arn, ":function:${var.name}-producer") && endswith(output.consumer_function_arn, ":function:${var.name}-consumer")
    error_message = "The functions should be named after the worker (NAME-producer, NAME-consumer)."
  }
}

run "updates_in_place" {
  command = apply

  variables {
    batch_size      = 5
    producer_memory = 256
  }

  assert {
    condition     = output.queue_url == run.makes_own_endpoint.queue_url && output.dead_letter_queue_url == run.makes_own_endpoint.dead_letter_queue_url
    error_message = "Changing batch_size and producer_memory should keep the queues."
  }

  assert {
    condition     = output.endpoint_id == run.makes_own_endpoint.endpoint_id && output.producer_function_arn == run.makes_own_endpoint.producer_function_arn
    error_message = "Changing batch_size and producer_memory should keep the endpoint and the functions."
  }
}
