# Endpoints for Lambda functions in private subnets with no NAT: SQS, STS
# and CloudWatch Logs by network interface, S3 by route. Only the functions'
# group may connect; SQS is limited to this account's queues.
resource "privatelink_service_endpoint_bundle" "core" {
  name            = "core"
  vpc_id          = aws_vpc.main.id
  subnet_ids      = [aws_subnet.private_a.id, aws_subnet.private_b.id]
  route_table_ids = [aws_route_table.private.id]

  allowed_security_group_ids = [aws_security_group.lambda.id]

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
