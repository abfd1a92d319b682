"""List the bucket named in BUCKET_NAME and return the first bytes of one object.

Runs in private subnets with no NAT: the S3 client below reaches S3 through
the Interface endpoint, because private DNS makes the SDK's usual S3 host
names resolve to the endpoint's addresses in the VPC. No endpoint URL is set.
"""

import os

import boto3

s3 = boto3.client("s3")


def lambda_handler(event, context):
    bucket = os.environ["BUCKET_NAME"]
    event = event or {}
    listing = s3.list_objects_v2(Bucket=bucket, MaxKeys=int(event.get("max_keys", 20)))
    keys = [item["Key"] for item in listing.get("Contents", [])]
    # The object to read: the one the event names, else the first listed.
    key = event.get("key") or (keys[0] if keys else None)
    result = {"bucket": bucket, "keys": keys}
    if key:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(1024)
        result["object"] = {"key": key, "head": body.decode("utf-8", errors="replace")}
    return result
