import json
import os

import boto3


def handler(event, context):
    # The queue's URL comes from the pipeline; with private DNS on the
    # endpoint, the SDK's usual SQS host name resolves inside the VPC.
    sqs = boto3.client("sqs")
    body = json.dumps(event if event else {"hello": "world"})
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=body)
    return {"sent": body}
