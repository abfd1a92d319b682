variable "region" {
  type    = string
  default = "us-east-1"
}

variable "aws_endpoint" {
  description = "One URL for every AWS service (an emulator such as moto); null for real AWS."
  type        = string
  default     = null
}

# The network the function goes into. scripts/network.py prints these
# names, one `name=value` per line, ready for -var.

variable "vpc_id" {
  description = "The VPC (DNS support and DNS hostnames on, for the S3 endpoint's private DNS)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets with no route out, at most one per Availability Zone: the function runs in them and the S3 endpoint gets an interface in each."
  type        = list(string)
}

variable "bucket_name" {
  description = "The bucket the function reads; the role and the endpoint's policy allow this bucket only."
  type        = string
  default     = "app-data"
}

# Printed by scripts/network.py for the other examples; declared so that the
# same -var arguments work here. Nothing in this example uses them.
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
