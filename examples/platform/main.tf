# A platform team's root configuration: one private-service-access module
# gives the VPC its one SQS endpoint; three queue workers (for_each) share
# it. Values flow from the first module into the second.
#
# The network normally comes from hashicorp/aws resources (aws_vpc with DNS
# support and hostnames, private aws_subnet per AZ, aws_security_group for
# the functions); here it comes in as variables. Against the embedded
# emulator, scripts/network.py makes it and prints the -var values.

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

module "services" {
  source = "../modules/private-service-access"

  name       = "platform"
  vpc_id     = var.vpc_id
  subnet_ids = var.subnet_ids
  services   = ["sqs"]
  # The functions' group: the endpoint admits it, and every worker's
  # producer joins it.
  client_security_group_ids = [var.app_security_group_id]
}

module "worker" {
  source   = "../modules/private-queue-worker"
  for_each = var.workers

  name                      = each.key
  vpc_id                    = var.vpc_id
  subnet_ids                = var.subnet_ids
  sqs_endpoint_id           = module.services.sqs_endpoint_id
  client_security_group_ids = [var.app_security_group_id]
  producer_source_dir       = "${path.module}/../private-lambda-sqs/producer"
  consumer_source_dir       = "${path.module}/../private-lambda-sqs/consumer"
  producer_memory           = each.value.producer_memory
  batch_size                = each.value.batch_size
  tags                      = { worker = each.key }
}
