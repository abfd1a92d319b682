variable "name" {
  description = "Label of the bundle: in its security group's name and in every object's ownership tag."
  type        = string
  default     = "services"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.name)) && !can(regex("^sg-", var.name))
    error_message = "The name must be 1 to 100 letters, digits, '-' or '_', and must not start with 'sg-' (EC2 refuses such security group names)."
  }
}

variable "vpc_id" {
  description = "The VPC the functions run in (aws_vpc.main.id)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "The vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the Interface endpoints, at most one per Availability Zone."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "Give at least one subnet id, each like subnet-0123456789abcdef0."
  }
}

variable "route_table_ids" {
  description = "Route tables of the private subnets; needed only for gateway_services."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.route_table_ids : can(regex("^rtb-[0-9a-f]+$", r))])
    error_message = "Each route table id must look like rtb-0123456789abcdef0."
  }
}

variable "services" {
  description = "Services reached through Interface endpoints, by short name (sqs, sts, logs, ecr.api, ...)."
  type        = list(string)

  validation {
    condition     = length(var.services) > 0 && length(distinct(var.services)) == length(var.services) && alltrue([for s in var.services : can(regex("^[a-z0-9][a-z0-9.-]*$", s))])
    error_message = "Give at least one service, each once, as a short name such as sqs or ecr.api."
  }
}

variable "gateway_services" {
  description = "Services reached through Gateway endpoints (routes, no network interface): s3 and dynamodb."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.gateway_services : contains(["s3", "dynamodb"], s)])
    error_message = "Only s3 and dynamodb have Gateway endpoints."
  }
}

variable "client_security_group_ids" {
  description = "Security groups of the functions that may connect to the Interface endpoints (TCP 443)."
  type        = list(string)

  validation {
    condition     = length(var.client_security_group_ids) > 0 && alltrue([for g in var.client_security_group_ids : can(regex("^sg-[0-9a-f]+$", g))])
    error_message = "Give at least one client security group id, each like sg-0123456789abcdef0."
  }
}

variable "tags" {
  description = "Tags for every object, over the provider's default_tags."
  type        = map(string)
  default     = {}
}
