# A producer Lambda in a private subnet with no NAT and no internet gateway
# sends to SQS through the queue service's Interface endpoint; a consumer
# Lambda (outside the VPC) takes the messages through an event source
# mapping; messages that keep failing go to a dead-letter queue.
#
# One resource makes the queues, the endpoint, both security groups, both
# least-privilege roles, both functions and the mapping. The network comes
# from outside: normally from hashicorp/aws resources (README.md shows
# them), here from variables.
#
# Against the embedded emulator (scripts/demo does all of this):
#   mapfile -t net < <(.tools/bin/python scripts/network.py http://127.0.0.1:5000)
#   args=(-var aws_endpoint=http://127.0.0.1:5000)
#   for v in "${net[@]}"; do args+=(-var "$v"); done
#   terraform init && terraform apply "${args[@]}"

terraform {
  required_version = ">= 1.0"
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

  default_tags {
    tags = { "managed-by" = "terraform" }
  }
}

resource "privatelink_private_lambda_pipeline" "orders" {
  name   = var.name
  vpc_id = var.vpc_id
  # One private subnet, as in the scenario; give one per AZ for resilience.
  subnet_ids = [var.subnet_ids[0]]

  producer {
    source_dir            = "${path.module}/producer"
    handler               = "index.handler"
    runtime               = "python3.12"
    timeout               = 10
    log_retention_in_days = 14 # its log group, /aws/lambda/<name>-producer (default 30 days)
    # Graviton: about 20% less per GB-second. The producer's code is plain
    # Python, so it runs on either architecture unchanged.
    architectures = ["arm64"]
  }

  consumer {
    source_dir  = "${path.module}/consumer"
    handler     = "index.handler"
    runtime     = "python3.12"
    timeout     = 30
    memory_size = var.consumer_memory
  }

  queue {
    max_receive_count = 4
  }

  event_source {
    batch_size                 = 10
    report_batch_item_failures = true
  }

  tags = {
    example = "private-lambda-sqs"
  }
}
