variable "region" {
  type    = string
  default = "us-east-1"
}

variable "aws_endpoint" {
  description = "One URL for every AWS service (an emulator such as moto); null for real AWS."
  type        = string
  default     = null
}

variable "name" {
  description = "Prefix of every object the pipeline makes."
  type        = string
  default     = "orders"
}

variable "vpc_id" {
  description = "The VPC (aws_vpc.main.id)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets with no route out (aws_subnet.private[*].id); the producer uses the first."
  type        = list(string)
}

variable "consumer_memory" {
  description = "Memory of the consumer function, MB."
  type        = number
  default     = 128
}

# Printed by scripts/network.py for the other examples; declared so that the
# same -var arguments work here.
variable "route_table_ids" {
  type    = list(string)
  default = []
}

variable "app_security_group_id" {
  type    = string
  default = null
}

variable "app_function_name" {
  type    = string
  default = null
}
