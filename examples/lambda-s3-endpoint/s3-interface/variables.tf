variable "region" {
  type    = string
  default = "us-east-1"
}

variable "aws_endpoint" {
  description = "One URL for every AWS service (an emulator such as moto); null for real AWS."
  type        = string
  default     = null
}

# The network the endpoint goes into: the same names scripts/network.py
# prints for the parent folder.

variable "vpc_id" {
  description = "The VPC (DNS support and DNS hostnames on, for the endpoint's private DNS)."
  type        = string
}

variable "subnet_ids" {
  description = "The Lambda's private subnets, at most one per Availability Zone; the S3 endpoint gets an interface in each."
  type        = list(string)
}

variable "route_table_ids" {
  description = "Not used here (no Gateway endpoint); declared so the network's -var list fits both variants."
  type        = list(string)
  default     = []
}

variable "app_security_group_id" {
  description = "The Lambda's security group: the only client allowed to reach the S3 endpoint."
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
