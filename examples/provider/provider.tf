# Real AWS: credentials come from the standard chain (environment, shared
# config profile, SSO, web identity, instance or task role).
provider "privatelink" {
  region = "eu-west-1"

  # Optional: act as another role.
  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/platform-deployer"
    session_name = "terraform"
  }

  # Tags put on every object the composites create.
  default_tags {
    tags = {
      team        = "payments"
      cost-center = "cc-1234"
    }
  }
}

# An emulator (moto, LocalStack): point every service at it.
provider "privatelink" {
  alias  = "emulator"
  region = "us-east-1"

  endpoints {
    ec2    = "http://127.0.0.1:5000"
    sqs    = "http://127.0.0.1:5000"
    lambda = "http://127.0.0.1:5000"
    iam    = "http://127.0.0.1:5000"
    sts    = "http://127.0.0.1:5000"
    logs   = "http://127.0.0.1:5000"
    kms    = "http://127.0.0.1:5000"
  }
}
