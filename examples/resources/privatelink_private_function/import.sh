# Import by the function's name: its role, groups, endpoints and log group
# are found by that name and their tags.
terraform import privatelink_private_function.reader metadata-reader
