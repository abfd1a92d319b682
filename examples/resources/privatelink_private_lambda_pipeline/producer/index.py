"""Producer: sends one order to the pipeline's queue.

The pipeline puts the queue's URL in QUEUE_URL. The function runs in private
subnets with no NAT; the SDK's usual SQS host name resolves to the queue
service's Interface endpoint, so no endpoint setting is needed here.
"""

import json
import os
import uuid

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    order = {"type": "order", "id": str(uuid.uuid4()), "items": (event or {}).get("items", [])}
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(order))
    return order
