//! Values on the wire: tfplugin6 DynamicValues (msgpack, or JSON from
//! older clients) decoded with the right schema and encoded back, and the
//! resource identities sent with states.

use crate::diag::Diagnostic;
use crate::proto::tfplugin6 as pb;
use crate::resources::Resource;
use crate::schema::{Schema, Type};
use crate::value::Value;

pub(super) fn decode(dv: Option<pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    let dv = dv.unwrap_or_default();
    let r = if !dv.msgpack.is_empty() {
        Value::from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        Value::from_json(&dv.json, ty)
    } else {
        return Ok(Value::Null);
    };
    r.map_err(|e| Diagnostic::error(format!("Could not decode the {what}"), e.0))
}

pub(super) fn encode(v: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue { msgpack: v.to_msgpack(ty), json: Vec::new() }
}

/// A resource's value as its resource sees it: decoded with its schema,
/// every Group block left out made an object of nulls (the shape Terraform
/// gives it, which a state from an import or an older version may lack).
pub(super) fn decode_resource(dv: Option<pb::DynamicValue>, schema: &Schema, what: &str) -> Result<Value, Diagnostic> {
    decode(dv, &schema.ty(), what).map(|v| schema.block.with_groups(v))
}

/// An identity on the wire, or Null when the request carries none (every
/// Terraform before 1.12, and 1.12+ before it has stored one).
pub(super) fn decode_identity(d: Option<pb::ResourceIdentityData>, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    decode(d.and_then(|d| d.identity_data), ty, what)
}

pub(super) fn identity_data(v: &Value, ty: &Type) -> pb::ResourceIdentityData {
    pb::ResourceIdentityData { identity_data: Some(encode(v, ty)) }
}

/// The identity to send with a state after read, apply or import: none
/// without a state, and none rather than one with unknown parts, which
/// Terraform refuses there. Clients that know no identity skip the field.
pub(super) fn known_identity(r: &dyn Resource, state: &Value, region: &str) -> Option<pb::ResourceIdentityData> {
    if state.is_null() {
        return None;
    }
    let id = r.identity(state, region);
    if !id.is_wholly_known() {
        tracing::warn!(identity = ?id, "identity not wholly known after read, apply or import; none sent");
        return None;
    }
    Some(identity_data(&id, &r.identity_schema().ty()))
}
