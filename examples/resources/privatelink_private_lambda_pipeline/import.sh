# Import by the pipeline's name: its parts are found by their names and tags.
terraform import privatelink_private_lambda_pipeline.orders orders
