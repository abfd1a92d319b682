terraform {
  required_version = ">= 1.0"
  required_providers {
    privatelink = {
      source  = "privatelink/privatelink"
      version = "~> 0.1"
    }
  }
}
