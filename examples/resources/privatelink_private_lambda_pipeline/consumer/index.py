"""Consumer: handles the orders the event source mapping delivers.

With report_batch_item_failures on, only the messages listed in
batchItemFailures go back to the queue (and, after max_receive_count
attempts, to the dead-letter queue); the rest of the batch is deleted.
"""

import json


def handler(event, context):
    failed = []
    for record in event.get("Records", []):
        try:
            order = json.loads(record["body"])
            print(f"order {order['id']}: {len(order.get('items', []))} items")
        except (ValueError, KeyError):
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}
