import json


def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        try:
            print(json.loads(record["body"]))
        except ValueError:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
