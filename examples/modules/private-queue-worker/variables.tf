variable "name" {
  description = "The worker's name: prefix of its queues, functions, roles and security groups (the pipeline's rule)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name)) && !can(regex("^sg-", var.name))
    error_message = "The name must be 1 to 40 letters, digits, '-' or '_', and must not start with 'sg-' (EC2 refuses such security group names)."
  }
}

variable "vpc_id" {
  description = "The VPC of the producer function."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "The vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the producer, one per Availability Zone."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "Give at least one subnet id, each like subnet-0123456789abcdef0."
  }
}

variable "sqs_endpoint_id" {
  description = "An existing SQS Interface endpoint to use (e.g. the private-service-access module's sqs_endpoint_id). Null: the worker makes its own."
  type        = string
  default     = null

  validation {
    condition     = var.sqs_endpoint_id == null || can(regex("^vpce-[0-9a-f]+$", var.sqs_endpoint_id))
    error_message = "The sqs_endpoint_id must be null or look like vpce-0123456789abcdef0."
  }
}

variable "client_security_group_ids" {
  description = "Groups the producer also joins. With sqs_endpoint_id, give a group the endpoint admits (the client group of the private-service-access module)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for g in var.client_security_group_ids : can(regex("^sg-[0-9a-f]+$", g))])
    error_message = "Each group id must look like sg-0123456789abcdef0."
  }
}

variable "producer_source_dir" {
  description = "Directory with the producer's code (zipped by the provider)."
  type        = string
}

variable "consumer_source_dir" {
  description = "Directory with the consumer's code (zipped by the provider)."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime of both functions."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^(python3\\.[0-9]+|nodejs[0-9]+\\.x|java[0-9]+|provided\\.al2(023)?|ruby3\\.[0-9]+|dotnet[0-9]+)$", var.runtime))
    error_message = "Use a Lambda runtime name such as python3.12 or nodejs20.x."
  }
}

variable "handler" {
  description = "Handler of both functions."
  type        = string
  default     = "index.handler"
}

variable "producer_memory" {
  description = "Memory of the producer, MB (128 to 10240)."
  type        = number
  default     = 128

  validation {
    condition     = var.producer_memory >= 128 && var.producer_memory <= 10240
    error_message = "The producer_memory must be 128 to 10240 MB."
  }
}

variable "consumer_timeout" {
  description = "Timeout of the consumer, seconds (1 to 900); the queue's visibility timeout follows it."
  type        = number
  default     = 30

  validation {
    condition     = var.consumer_timeout >= 1 && var.consumer_timeout <= 900
    error_message = "The consumer_timeout must be 1 to 900 seconds."
  }
}

variable "batch_size" {
  description = "Messages per consumer invocation, 1 to 10: the module sets no batching window, and without one an SQS event source mapping takes at most 10."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10
    error_message = "The batch_size must be 1 to 10 (more needs a batching window, which this module does not set)."
  }
}

variable "tags" {
  description = "Tags for every object, over the provider's default_tags."
  type        = map(string)
  default     = {}
}
