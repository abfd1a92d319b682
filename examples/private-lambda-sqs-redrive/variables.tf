variable "region" {
  type    = string
  default = "us-east-1"
}

variable "aws_endpoint" {
  description = "One URL for every AWS service (an emulator); null for real AWS."
  type        = string
  default     = null
}

variable "name" {
  description = "The pipeline's name, also what the action redrives."
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

variable "consumer_dir" {
  description = "The consumer's code (default: the private-lambda-sqs example's). Point it at fixed code to deploy the fix, and the apply redrives."
  type        = string
  default     = null
}

variable "redrive_rate" {
  description = "Messages moved per second at most (1 to 500): spare a consumer that just recovered."
  type        = number
  default     = 50
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
