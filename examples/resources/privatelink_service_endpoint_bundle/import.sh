# Import the endpoints of one VPC as a bundle: their ids, comma separated.
# The VPC, subnets, security group and services are read back from AWS.
terraform import privatelink_service_endpoint_bundle.core vpce-0a1b2c3d4e5f60718,vpce-0f1e2d3c4b5a69788
