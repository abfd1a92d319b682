# The network usually comes from hashicorp/aws resources in the same
# configuration (vpc_id = aws_vpc.main.id, subnet_ids =
# aws_subnet.private[*].id); here it comes in as variables, with the SQS
# endpoint of a privatelink_service_endpoint_bundle that is shared with
# other functions, and a group the bundle admits (its
# allowed_security_group_ids). src/ holds the function's handler.
variable "vpc_id" { type = string }
variable "private_subnet_ids" { type = list(string) }
variable "sqs_endpoint_id" { type = string }
variable "sqs_client_security_group_id" { type = string }
variable "queue_arn" { type = string }
variable "queue_url" { type = string }

resource "privatelink_private_function" "reader" {
  name       = "metadata-reader"
  vpc_id     = var.vpc_id
  subnet_ids = var.private_subnet_ids

  function {
    source_dir            = "${path.module}/src"
    handler               = "lambda_function.lambda_handler"
    runtime               = "python3.12"
    timeout               = 15
    architectures         = ["arm64"]
    log_retention_in_days = 14
    # A group of yours that the SQS endpoint admits (see below).
    security_group_ids = [var.sqs_client_security_group_id]
    environment = {
      BUCKET_NAME = "metadata-123456789012"
      QUEUE_URL   = var.queue_url
    }
  }

  # S3 by route, free of charge: a Gateway endpoint on the subnets' route
  # tables, and egress to S3's prefix list for the function's group.
  access {
    service       = "s3"
    endpoint_type = "Gateway"
    actions       = ["s3:GetObject", "s3:ListBucket"]
    resources     = ["arn:aws:s3:::metadata-123456789012", "arn:aws:s3:::metadata-123456789012/*"]
  }

  # SQS through an Interface endpoint that already exists: the function's
  # group gets egress to the endpoint's group. That group admits the
  # function through security_group_ids above, so the bundle need not name
  # the function's own group (which would be a reference cycle).
  access {
    service     = "sqs"
    endpoint_id = var.sqs_endpoint_id
    actions     = ["sqs:SendMessage"]
    resources   = [var.queue_arn]
  }

  tags = {
    service = "metadata"
  }

  timeouts {
    delete = "60m"
  }
}
