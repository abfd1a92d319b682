# Who is the provider acting as? The smallest configuration that proves the
# credential chain, role assumption and endpoint overrides work end to end.
#
#   terraform init && terraform apply
#
# Against the embedded emulator (scripts/demo does this for you):
#   terraform apply -var aws_endpoint=http://127.0.0.1:5000

terraform {
  required_version = ">= 1.0"
  required_providers {
    privatelink = {
      source  = "privatelink/privatelink"
      version = "~> 0.1"
    }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "aws_endpoint" {
  description = "One URL for every AWS service (an emulator such as moto); null for real AWS."
  type        = string
  default     = null
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

data "privatelink_caller_identity" "current" {}

output "account_id" {
  value = data.privatelink_caller_identity.current.account_id
}

output "arn" {
  value = data.privatelink_caller_identity.current.arn
}

output "region" {
  value = data.privatelink_caller_identity.current.region
}
