variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "aws_endpoint" {
  description = "One URL for every AWS service (an emulator such as moto); null for real AWS."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "The VPC (aws_vpc.main.id), with DNS support and DNS hostnames on."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, one per Availability Zone (aws_subnet.private[*].id)."
  type        = list(string)
}

variable "app_security_group_id" {
  description = "The functions' security group (aws_security_group.lambda.id)."
  type        = string
}

variable "workers" {
  description = "Queue workers by name."
  type = map(object({
    producer_memory = number
    batch_size      = number
  }))
  default = {
    orders   = { producer_memory = 128, batch_size = 10 }
    invoices = { producer_memory = 128, batch_size = 5 }
    emails   = { producer_memory = 256, batch_size = 10 }
  }
}
