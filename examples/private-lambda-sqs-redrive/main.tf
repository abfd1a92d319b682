# The private-lambda-sqs pipeline, with its dead-letter queue redriven
# after each change of the pipeline: when a consumer fix is deployed, the
# messages that failed before it go back to the queue, through one SQS
# message move task, with progress shown while it runs.
#
# Actions need Terraform 1.14 or later. Besides the trigger, the action runs
# on its own with:
#   terraform apply -invoke=action.privatelink_dead_letter_redrive.orders

terraform {
  required_version = ">= 1.14"
  required_providers {
    privatelink = {
      source  = "privatelink/privatelink"
      version = "~> 0.1"
    }
  }
}

provider "privatelink" {
  region = var.region

  endpoints {
    ec2    = var.aws_endpoint
    sqs    = var.aws_endpoint
    lambda = var.aws_endpoint
    iam    = var.aws_endpoint
    sts    = var.aws_endpoint
    logs   = var.aws_endpoint
    kms    = var.aws_endpoint
  }
}

resource "privatelink_private_lambda_pipeline" "orders" {
  name       = var.name
  vpc_id     = var.vpc_id
  subnet_ids = [var.subnet_ids[0]]

  producer {
    source_dir = "${path.module}/../private-lambda-sqs/producer"
    handler    = "index.handler"
    runtime    = "python3.12"
    timeout    = 10
  }

  consumer {
    source_dir = coalesce(var.consumer_dir, "${path.module}/../private-lambda-sqs/consumer")
    handler    = "index.handler"
    runtime    = "python3.12"
    timeout    = 30
  }

  lifecycle {
    # After an update (a new consumer's code, most often), move what failed
    # before it back to the queue. A create has nothing to redrive.
    action_trigger {
      events  = [after_update]
      actions = [action.privatelink_dead_letter_redrive.orders]
    }
  }
}

# The pipeline that triggers it, by name.
action "privatelink_dead_letter_redrive" "orders" {
  config {
    pipeline                = privatelink_private_lambda_pipeline.orders.name
    max_messages_per_second = var.redrive_rate
  }
}
