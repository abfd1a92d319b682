//! The documents this provider writes: the functions' trust and role
//! policies and the queues' TLS-only policy.

use serde_json::Value;

/// IAM's limit on a role's inline policies, all of them together, in
/// characters with whitespace not counted.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>
pub const ROLE_INLINE_POLICY_CHARS: usize = 10_240;

/// A policy's size as IAM counts it: characters, whitespace left out.
pub fn policy_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// The policy language every document below is written in.
const VERSION: &str = "2012-10-17";

/// What a Lambda function in a VPC must be allowed to do to its network
/// interfaces. AWS requires `"Resource": "*"` for these: the ENIs do not
/// exist yet when the permission is checked (AWSLambdaVPCAccessExecutionRole
/// grants them the same way), so they are the only wildcard-resource actions
/// the pipeline's roles carry.
pub const VPC_ENI_ACTIONS: [&str; 5] = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
];

/// Trust policy: the Lambda service may assume the role (and nobody else).
pub fn lambda_trust() -> String {
    document(vec![serde_json::json!({
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    })])
}

/// Queue policy that refuses every call on the queue made without TLS.
/// A Deny, so it adds no access: who may call the queue is still decided by
/// the callers' own IAM policies.
pub fn queue_tls_only(queue_arn: &str) -> String {
    document(vec![serde_json::json!({
        "Sid": "DenyWithoutTls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": queue_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })])
}

/// The producer function's permissions: send to its one queue, write its
/// own logs, and (in a VPC) manage its network interfaces. The network
/// interface actions are on Resource `"*"` because AWS requires it for them
/// (see [`VPC_ENI_ACTIONS`]); everything else names its one resource.
pub fn producer(queue_arn: &str, log_group_arn: &str, in_vpc: bool) -> String {
    let send = allow("SendToQueue", &["sqs:SendMessage", "sqs:GetQueueUrl"], queue_arn);
    function_role(Some(send), log_group_arn, in_vpc)
}

/// The consumer function's permissions: what the event source mapping does
/// on its behalf on the one queue (receive, delete, look at attributes,
/// extend visibility), its own logs, and (in a VPC) its network interfaces,
/// on Resource `"*"` as AWS requires for those (see [`VPC_ENI_ACTIONS`]).
pub fn consumer(queue_arn: &str, log_group_arn: &str, in_vpc: bool) -> String {
    let receive = allow(
        "ReceiveFromQueue",
        &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
        queue_arn,
    );
    function_role(Some(receive), log_group_arn, in_vpc)
}

/// The ARN of log group `group` (the group itself, not its streams), in
/// `partition` (`aws`, `aws-cn`, `aws-us-gov`...).
pub fn log_group_arn(partition: &str, region: &str, account: &str, group: &str) -> String {
    format!("arn:{partition}:logs:{region}:{account}:log-group:{group}")
}

/// A private function's permissions besides its services' (each an
/// [`access_statement`]): its own logs and its network interfaces, on
/// Resource `"*"` as AWS requires for those (see [`VPC_ENI_ACTIONS`]).
pub fn private_function(log_group_arn: &str) -> String {
    function_role(None, log_group_arn, true)
}

/// What a function may do with one service: exactly `actions` on
/// `resources`, named `sid`.
pub fn access_statement(sid: &str, actions: &[String], resources: &[String]) -> Value {
    serde_json::json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

/// An endpoint policy letting through exactly `actions` on `resources`
/// (any principal: who may call is the callers' own policies' business;
/// the endpoint only narrows what passes through it).
pub fn endpoint_access(sid: &str, actions: &[String], resources: &[String]) -> String {
    let mut statement = access_statement(sid, actions, resources);
    statement["Principal"] = Value::String("*".into());
    document(vec![statement])
}

/// One function's role policy: its queue statement (a pipeline's
/// functions), its logs, and the ENI statement when it runs in a VPC.
fn function_role(queue_statement: Option<Value>, log_group_arn: &str, in_vpc: bool) -> String {
    let mut statements: Vec<Value> = queue_statement.into_iter().collect();
    statements.extend([
        // The composite makes the group (with its retention) before the
        // function: the role may not make one itself, which would never
        // expire and outlive the composite. Streams and events live under
        // the group: `<group arn>:*`.
        allow("WriteLogs", &["logs:CreateLogStream", "logs:PutLogEvents"], &format!("{log_group_arn}:*")),
    ]);
    if in_vpc {
        statements.push(allow("ManageVpcNetworkInterfaces", &VPC_ENI_ACTIONS, "*"));
    }
    document(statements)
}

/// What a function with `Active` tracing needs to hand its traces to
/// X-Ray (the actions of AWS's AWSXRayDaemonWriteAccess that Lambda uses).
/// X-Ray has no resource-level permissions for them, so `"*"`.
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html>
pub const XRAY_WRITE_ACTIONS: [&str; 2] = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/// The statement a function with `Active` tracing needs (see
/// [`XRAY_WRITE_ACTIONS`]).
pub fn write_traces() -> Value {
    allow("WriteTraces", &XRAY_WRITE_ACTIONS, "*")
}

fn allow(sid: &str, actions: &[&str], resource: &str) -> Value {
    serde_json::json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource})
}

fn document(statements: Vec<Value>) -> String {
    serde_json::json!({"Version": VERSION, "Statement": statements}).to_string()
}

/// What a function does with the queue's customer-managed KMS key, on that
/// key's ARN only. Amazon SQS Developer Guide, "Amazon SQS key management"
/// (configuring KMS permissions): a producer sending to an encrypted queue
/// needs `kms:GenerateDataKey` and `kms:Decrypt`, a consumer receiving from
/// it `kms:Decrypt`. An AWS-managed key (`alias/aws/sqs`) needs neither: its
/// key policy lets the account's principals use it through SQS.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html>
pub fn queue_key(sends: bool, key_arn: &str) -> Value {
    if sends {
        allow("UseQueueKeyToSend", &["kms:GenerateDataKey", "kms:Decrypt"], key_arn)
    } else {
        allow("UseQueueKeyToReceive", &["kms:Decrypt"], key_arn)
    }
}

/// `doc` (a document written above) with `extra` statements after its own.
pub fn with_statements(doc: &str, extra: Vec<Value>) -> String {
    if extra.is_empty() {
        return doc.to_string();
    }
    let mut v: Value = serde_json::from_str(doc).expect("the documents above are JSON");
    if let Some(list) = v.get_mut("Statement").and_then(Value::as_array_mut) {
        list.extend(extra);
    }
    v.to_string()
}
