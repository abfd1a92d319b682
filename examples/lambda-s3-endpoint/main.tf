# A private Lambda with no NAT reads S3 through a Gateway endpoint.
#
# The network (VPC, two private subnets, a route table with no route out,
# the Lambda's security group, the Lambda "app" and the bucket "app-data")
# comes from outside: normally from hashicorp/aws resources in the same
# configuration (README.md shows them), here from variables. This module
# adds what the subnets lack: an S3 Gateway endpoint on their route table,
# and an SQS Interface endpoint in the subnets that only the Lambda's group
# may reach. s3-interface/ is the variant with S3 through an Interface
# endpoint that only the Lambda's group may reach.
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

resource "privatelink_service_endpoint_bundle" "app" {
  name            = "app"
  vpc_id          = var.vpc_id
  subnet_ids      = var.subnet_ids
  route_table_ids = var.route_table_ids

  # Only the Lambda's group may open connections to the Interface endpoints.
  allowed_security_group_ids = [var.app_security_group_id]

  # S3 by route: the route tables get a route to S3's prefix list through
  # the endpoint. No network interface, no security group, no hourly charge.
  # The policy keeps the endpoint to the one bucket the function reads.
  endpoint {
    service = "s3"
    type    = "Gateway"
    policy = jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Principal = "*"
        Action    = ["s3:ListBucket", "s3:GetObject"]
        Resource  = ["arn:aws:s3:::${var.bucket_name}", "arn:aws:s3:::${var.bucket_name}/*"]
      }]
    })
  }

  # SQS by network interface: one per subnet, private DNS on, so the SDK's
  # usual sqs.REGION.amazonaws.com resolves to addresses in the VPC.
  endpoint {
    service = "sqs"
  }

  tags = {
    example = "lambda-s3-endpoint"
  }
}
