#!/usr/bin/env python3
"""Make, in an AWS emulator (moto), the network a private Lambda lives in.

    .tools/bin/python scripts/network.py ENDPOINT_URL [--region us-east-1]

Users normally build this with the hashicorp/aws provider, which cannot be
installed here (offline). The privatelink examples only add VPC endpoints to
an existing network, so this script plays the hashicorp/aws part:

  - a VPC 10.0.0.0/16 with DNS support and DNS hostnames on (private DNS of
    Interface endpoints needs both);
  - two private subnets, 10.0.1.0/24 in REGIONa and 10.0.2.0/24 in REGIONb;
  - one private route table for both (only the local route: no NAT, no
    internet gateway);
  - the application Lambda's security group: egress TCP 443 only, to the
    VPC's CIDR (Interface endpoints) and to the region's S3 prefix list (the
    S3 Gateway endpoint routes to S3's own addresses, not into the VPC);
  - an IAM role for Lambda and a function "app" (python3.12) in both subnets
    with that group, which lists the bucket "app-data";
  - the S3 bucket "app-data".

stdout carries only `name=value` lines, one `terraform -var` argument each:

    vpc_id=vpc-...
    subnet_ids=["subnet-...","subnet-..."]
    route_table_ids=["rtb-..."]
    app_security_group_id=sg-...
    app_function_name=app

Progress goes to stderr. Run it once per fresh emulator: it is not
idempotent (a second run fails on the existing role and bucket).
"""

import argparse
import io
import json
import os
import sys
import urllib.parse
import zipfile

VPC_CIDR = "10.0.0.0/16"
SUBNETS = (("a", "10.0.1.0/24"), ("b", "10.0.2.0/24"))
FUNCTION = "app"
BUCKET = "app-data"
ROLE = "app-lambda"
PREFIX = "privatelink-example"

HANDLER = '''\
import os

import boto3


def handler(event, context):
    bucket = os.environ["BUCKET"]
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return {"bucket": bucket, "keys": [o["Key"] for o in listing.get("Contents", [])]}
'''

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
}

# ENIs in the VPC and logs: what every VPC Lambda needs.
VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def say(msg):
    print(f"network.py: {msg}", file=sys.stderr, flush=True)


class Failed(Exception):
    """A step failed; the message says which and why."""


def tags(name, **extra):
    return [{"Key": "Name", "Value": f"{PREFIX}-{name}"},
            {"Key": "example", "Value": "lambda-s3-endpoint"},
            *({"Key": k, "Value": v} for k, v in extra.items())]


def spec(resource_type, name):
    return [{"ResourceType": resource_type, "Tags": tags(name)}]


def handler_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("index.py", HANDLER)
    return buf.getvalue()


def clients(endpoint, region):
    import boto3
    from botocore.config import Config

    # Only the emulator: nothing of the machine's AWS config or credentials.
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2, "mode": "standard"})

    def client(name):
        return session.client(name, endpoint_url=endpoint, config=config)

    return client("ec2"), client("iam"), client("lambda"), client("s3")


def check_reachable(ec2, endpoint):
    from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError

    hint = "Is the emulator running (moto_server -H 127.0.0.1 -p PORT)?"
    try:
        ec2.describe_availability_zones()
    except ClientError:
        raise  # it answered, as AWS does: reported with its error code
    except BotoConnectionError as e:
        raise Failed(f"cannot reach the AWS endpoint {endpoint}: {e}. {hint}") from None
    except Exception as e:  # noqa: BLE001 - anything else means "not an AWS API there"
        first = str(e).splitlines()[0].rstrip(": ") if str(e) else type(e).__name__
        raise Failed(f"{endpoint} does not answer like an AWS endpoint: {first}. {hint}") from None


# Errors AWS answers while a new object propagates (EC2 and IAM are
# eventually consistent): what the hashicorp/aws provider retries too.
# "Eventual consistency in the Amazon EC2 API":
# https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html
PROPAGATING = {
    "InvalidGroup.NotFound": None,
    "InvalidParameterValueException": ("cannot be assumed", "does not have permissions"),
}


def settled(call, *args, limit=120, **kwargs):
    """call(*args, **kwargs), retried while AWS says the objects it names
    are still propagating, for at most `limit` seconds."""
    import time
    from botocore.exceptions import ClientError

    start, pause = time.monotonic(), 0.2
    while True:
        try:
            return call(*args, **kwargs)
        except ClientError as e:
            err = e.response.get("Error", {})
            code, message = err.get("Code", ""), err.get("Message", "")
            hints = PROPAGATING.get(code, ())
            waiting = code in PROPAGATING and (hints is None or any(h in message for h in hints))
            if not waiting or time.monotonic() - start > limit:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 5)


def make_vpc(ec2):
    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=spec("vpc", "vpc"))["Vpc"]["VpcId"]
    # One attribute per call: that is the API.
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    say(f"VPC {vpc_id} ({VPC_CIDR}, DNS support and hostnames on)")
    return vpc_id


def make_subnets(ec2, vpc_id, region):
    zones = {z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    ids = []
    for suffix, cidr in SUBNETS:
        az = region + suffix
        if az not in zones:
            raise Failed(f"region {region} has no Availability Zone {az} (it has: {', '.join(sorted(zones))})")
        subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az,
                                   TagSpecifications=spec("subnet", f"private-{suffix}"))["Subnet"]
        ids.append(subnet["SubnetId"])
        say(f"private subnet {subnet['SubnetId']} ({cidr}, {az})")
    return ids


def make_route_table(ec2, vpc_id, subnet_ids):
    rtb_id = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=spec("route-table", "private"))[
        "RouteTable"]["RouteTableId"]
    for subnet_id in subnet_ids:
        ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnet_id)
    say(f"private route table {rtb_id} (local route only), associated with both subnets")
    return rtb_id


def s3_prefix_list(ec2, region):
    name = f"com.amazonaws.{region}.s3"
    found = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [name]}])["PrefixLists"]
    return found[0]["PrefixListId"] if found else None


def make_app_group(ec2, vpc_id, region):
    sg_id = ec2.create_security_group(
        GroupName=f"{PREFIX}-app", Description="Application Lambda: HTTPS to AWS services only",
        VpcId=vpc_id, TagSpecifications=spec("security-group", "app"))["GroupId"]
    # A new group allows all egress: take that away, then allow HTTPS only.
    settled(ec2.revoke_security_group_egress, GroupId=sg_id, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": VPC_CIDR, "Description": "Interface endpoints"}]}
    pl_id = s3_prefix_list(ec2, region)
    if pl_id:
        https["PrefixListIds"] = [{"PrefixListId": pl_id, "Description": "S3 through the Gateway endpoint"}]
    settled(ec2.authorize_security_group_egress, GroupId=sg_id, IpPermissions=[https])
    to = f"{VPC_CIDR} and {pl_id} (S3)" if pl_id else f"{VPC_CIDR} (no S3 prefix list found)"
    say(f"application security group {sg_id} (egress tcp 443 to {to}, no ingress)")
    return sg_id


def make_bucket(s3, region):
    args = {"Bucket": BUCKET}
    if region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**args)
    s3.put_object(Bucket=BUCKET, Key="hello.txt", Body=b"read through the S3 Gateway endpoint\n")
    say(f"S3 bucket {BUCKET} (one object, hello.txt)")


def make_role(iam):
    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
                           Description="The private Lambda 'app'",
                           Tags=[{"Key": "example", "Value": "lambda-s3-endpoint"}])["Role"]
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=VPC_ACCESS_POLICY)
    iam.put_role_policy(RoleName=ROLE, PolicyName="read-app-data", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        ],
    }))
    say(f"IAM role {role['Arn']} (trusts lambda.amazonaws.com)")
    return role["Arn"]


def make_function(lam, role_arn, subnet_ids, sg_id):
    fn = settled(
        lam.create_function, FunctionName=FUNCTION, Runtime="python3.12", Handler="index.handler", Role=role_arn,
        Code={"ZipFile": handler_zip()}, Timeout=10, MemorySize=128,
        Environment={"Variables": {"BUCKET": BUCKET}},
        VpcConfig={"SubnetIds": subnet_ids, "SecurityGroupIds": [sg_id]},
        Tags={"example": "lambda-s3-endpoint"})
    say(f"Lambda function {fn['FunctionName']} (python3.12, in both subnets, group {sg_id})")
    return fn["FunctionName"]


def into_tools_venv():
    """.tools/bin/python is a symlink: Python then misses .tools/venv/pyvenv.cfg
    and runs as the base interpreter, without the venv's boto3. Re-run this
    script with the venv's own interpreter, once."""
    venv = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".tools", "venv")
    python = os.path.join(venv, "bin", "python")
    if sys.prefix == sys.base_prefix and os.path.exists(python) and "PRIVATELINK_NETWORK_REEXEC" not in os.environ:
        os.environ["PRIVATELINK_NETWORK_REEXEC"] = "1"
        os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def main():
    into_tools_venv()
    parser = argparse.ArgumentParser(
        description="Create a private network and Lambda in an AWS emulator; print terraform -var values.")
    parser.add_argument("endpoint", metavar="ENDPOINT_URL", help="the emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--region", default="us-east-1", help="default: %(default)s")
    args = parser.parse_args()

    url = urllib.parse.urlparse(args.endpoint)
    if url.scheme not in ("http", "https") or not url.netloc:
        parser.error(f"ENDPOINT_URL must be an http:// or https:// URL, got {args.endpoint!r}")

    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        say("boto3 is missing: run with .tools/bin/python (scripts/setup installs it)")
        return 2

    step = "connecting"
    try:
        ec2, iam, lam, s3 = clients(args.endpoint, args.region)
        check_reachable(ec2, args.endpoint)
        say(f"building the network in {args.endpoint} ({args.region})")
        step = "VPC"
        vpc_id = make_vpc(ec2)
        step = "subnets"
        subnet_ids = make_subnets(ec2, vpc_id, args.region)
        step = "route table"
        rtb_id = make_route_table(ec2, vpc_id, subnet_ids)
        step = "application security group"
        sg_id = make_app_group(ec2, vpc_id, args.region)
        step = "S3 bucket"
        make_bucket(s3, args.region)
        step = "IAM role"
        role_arn = make_role(iam)
        step = "Lambda function"
        function = make_function(lam, role_arn, subnet_ids, sg_id)
    except Failed as e:
        say(str(e))
        return 1
    except ClientError as e:
        err = e.response.get("Error", {})
        say(f"{step}: {e.operation_name} failed: {err.get('Code', '?')}: {err.get('Message', e)}")
        return 1
    except BotoCoreError as e:
        say(f"{step}: {e}")
        return 1
    except Exception as e:  # noqa: BLE001 - e.g. an unparsable answer: one line, no traceback
        first = str(e).splitlines()[0].rstrip(": ") if str(e) else ""
        say(f"{step}: {type(e).__name__}: {first}")
        return 1

    compact = (",", ":")
    print(f"vpc_id={vpc_id}")
    print(f"subnet_ids={json.dumps(subnet_ids, separators=compact)}")
    print(f"route_table_ids={json.dumps([rtb_id], separators=compact)}")
    print(f"app_security_group_id={sg_id}")
    print(f"app_function_name={function}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
