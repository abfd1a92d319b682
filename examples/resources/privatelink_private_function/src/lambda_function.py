"""Read one object of the bucket in BUCKET_NAME and send its key and size to
the queue in QUEUE_URL. Both clients use the SDK's usual endpoints: S3 goes
through the Gateway endpoint's route, SQS through the Interface endpoint's
private DNS.
"""

import json
import os

import boto3

s3 = boto3.client("s3")
sqs = boto3.client("sqs")


def lambda_handler(event, context):
    bucket = os.environ["BUCKET_NAME"]
    key = (event or {}).get("key", "metadata.json")
    obj = s3.get_object(Bucket=bucket, Key=key)
    message = {"bucket": bucket, "key": key, "size": obj["ContentLength"]}
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(message))
    return message
