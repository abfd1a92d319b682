# The same private Lambda, reading S3 through an Interface endpoint instead
# of a Gateway endpoint: network interfaces in the Lambda's subnets, behind
# a security group that admits HTTPS from the Lambda's group and nothing
# else. Choose this when the Lambda's group may only talk to addresses in
# the VPC, or when S3 must be reachable from outside the VPC too (on-premises
# over a VPN, peered VPCs); otherwise the Gateway variant in the parent
# folder is free and simpler.
#
# Same network, same variables, same commands as the parent folder (see its
# README.md), run from this folder.

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
  name       = "app-s3"
  vpc_id     = var.vpc_id
  subnet_ids = var.subnet_ids

  # The endpoint's group: TCP 443 in from the Lambda's group only.
  allowed_security_group_ids = [var.app_security_group_id]

  endpoint {
    service = "s3"
    type    = "Interface"

    # Private DNS (on by default) makes the SDK's usual s3.REGION.amazonaws.com
    # and BUCKET.s3.REGION.amazonaws.com resolve to the endpoint's addresses.
    # With no S3 Gateway endpoint in the VPC, the VPC's own clients must be
    # answered too, not only inbound Resolver endpoints: false. The bundle
    # would choose false here by itself; written out, adding a Gateway
    # endpoint later does not move the Lambda's traffic to it.
    private_dns_only_for_inbound_resolver_endpoint = false

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

  tags = {
    example = "lambda-s3-endpoint"
  }
}
