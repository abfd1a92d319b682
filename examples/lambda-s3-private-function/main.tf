# A private Lambda with no NAT reads one S3 bucket through an S3 Interface
# endpoint whose security group admits the Lambda's group and nothing else.
#
# One privatelink_private_function makes all of it: the function, its
# security group (egress HTTPS to the endpoint only), the endpoint and its
# group (HTTPS in from the function only, private DNS on), a role that may
# do exactly the two S3 actions on the one bucket, and the function's log
# group. The network (VPC and private subnets) and the bucket come from
# outside: normally from hashicorp/aws resources in the same configuration
# (README.md shows them), here from variables.
#
# Against the embedded emulator (moto already running on port 5000):
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

locals {
  # The bucket's ARN, from its name (S3 ARNs carry no region or account).
  bucket_arn = "arn:aws:s3:::${var.bucket_name}"
}

resource "privatelink_private_function" "reader" {
  name       = "metadata-reader"
  vpc_id     = var.vpc_id
  subnet_ids = var.subnet_ids

  function {
    source_dir = "${path.module}/src"
    handler    = "lambda_function.lambda_handler"
    runtime    = "python3.12"
    timeout    = 15
    environment = {
      BUCKET_NAME = var.bucket_name
    }
  }

  # S3 through an Interface endpoint (the default type): a network
  # interface in each subnet, private DNS on, so the SDK's usual S3 host
  # names resolve to it. The endpoint's policy and the role both allow
  # exactly these two actions on this bucket and its objects.
  access {
    service   = "s3"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]
  }

  tags = {
    example = "lambda-s3-private-function"
  }
}
