variable "region" {
  type    = string
  default = "us-east-1"
}

variable "aws_endpoint" {
  description = "One URL for every AWS service (an emulator such as moto); null for real AWS."
  type        = string
  default     = null
}

# The network the endpoints go into. scripts/network.py prints exactly these
# names, one `name=value` per line, ready for -var.

variable "vpc_id" {
  description = "The VPC (DNS support and DNS hostnames on, for the SQS endpoint's private DNS)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the Lambda, at most one per Availability Zone; the SQS endpoint gets an interface in each."
  type        = list(string)
}

variable "route_table_ids" {
  description = "Route tables of those subnets; the S3 Gateway endpoint adds its route to each."
  type        = list(string)
}

variable "app_security_group_id" {
  description = "The Lambda's security group: the only client allowed to reach the Interface endpoints."
  type        = string
}

variable "app_function_name" {
  description = "The private Lambda's name. checks.tf (Terraform 1.5+) checks its path to the services through these endpoints, so with checks.tf it must be set; it is also an output. Nothing here changes the function."
  type        = string
  default     = null
}

variable "bucket_name" {
  description = "The bucket the Lambda reads; the S3 endpoint's policy allows this bucket only."
  type        = string
  default     = "app-data"
}
