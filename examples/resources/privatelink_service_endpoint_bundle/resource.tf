# Endpoints for Lambda functions in private subnets with no NAT: SQS, STS
# and CloudWatch Logs by network interface, S3 by route. Only the functions'
# group may connect; SQS is limited to this account's queues.
#
# The network usually comes from hashicorp/aws resources in the same
# configuration (vpc_id = aws_vpc.main.id, subnet_ids =
# aws_subnet.private[*].id, ...); here it comes in as variables.
variable "vpc_id" { type = string }
variable "private_subnet_ids" { type = list(string) }
variable "private_route_table_ids" { type = list(string) }
variable "lambda_security_group_id" { type = string }

resource "privatelink_service_endpoint_bundle" "core" {
  name            = "core"
  vpc_id          = var.vpc_id
  subnet_ids      = var.private_subnet_ids
  route_table_ids = var.private_route_table_ids

  allowed_security_group_ids = [var.lambda_security_group_id]

  endpoint {
    service = "sqs"
    policy = jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = "arn:aws:sqs:*:${data.privatelink_caller_identity.current.account_id}:*"
      }]
    })
  }

  endpoint {
    service = "sts"
  }

  endpoint {
    service = "logs"
  }

  endpoint {
    service = "s3"
    type    = "Gateway"
  }

  tags = {
    service = "orders"
  }

  timeouts {
    create = "15m"
    delete = "20m"
  }
}

data "privatelink_caller_identity" "current" {}
