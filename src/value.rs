//! Terraform values (cty) as the protocol carries them: msgpack for
//! configs, plans and state, JSON for stored state being upgraded.
//!
//! Decoding needs the schema's type: msgpack alone cannot tell a list from
//! a set or an object from a map, and encoding must write every attribute
//! of an object (absent ones as null) or Terraform rejects the value.

use std::collections::BTreeMap;

/// A cty type: what a value is decoded against, and what a schema
/// attribute declares.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn object<'a>(attrs: impl IntoIterator<Item = (&'a str, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.to_string(), t)).collect())
    }

    /// cty's JSON type notation, which the protocol carries in `Attribute.type`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(a) => {
                json!(["object", a.iter().map(|(k, t)| (k.clone(), t.to_json())).collect::<serde_json::Map<_, _>>()])
            }
        }
    }

    /// Words for a diagnostic: "a string", "a set of string"...
    pub fn describe(&self) -> String {
        match self {
            Type::String => "a string".into(),
            Type::Number => "a number".into(),
            Type::Bool => "a bool".into(),
            Type::List(t) => format!("a list of {}", t.describe()),
            Type::Set(t) => format!("a set of {}", t.describe()),
            Type::Map(t) => format!("a map of {}", t.describe()),
            Type::Object(_) => "an object".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    /// Not known until apply (msgpack extension 0).
    Unknown,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
}

/// Sets compare as sets, as Terraform compares them: the order the user
/// wrote and the order AWS answers are the same value.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) | (Unknown, Unknown) => true,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Set(a), Set(b)) => a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x)),
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }
    /// True when the value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) => v.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }
    /// An attribute of an object; null when absent or when self is not an object.
    pub fn get(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Object(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    /// Elements of a list or set; empty for null.
    pub fn elements(&self) -> &[Value] {
        match self {
            Value::List(v) | Value::Set(v) => v,
            _ => &[],
        }
    }
    /// Entries of a map or object; None for anything else.
    pub fn entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    /// A string, or null for None.
    pub fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map(|s| Value::String(s.into())).unwrap_or(Value::Null)
    }
    pub fn object<I, K>(fields: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Sorted, de-duplicated strings of a set or list; empty for null.
    pub fn strings(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<String> = self.elements().iter().filter_map(|e| e.as_str().map(str::to_string)).collect();
        set.into_iter().collect()
    }

    pub fn string_set(items: &[String]) -> Value {
        Value::Set(items.iter().map(|s| Value::string(s.clone())).collect())
    }

    /// The string entries of a map; empty for null.
    pub fn string_map(&self) -> BTreeMap<String, String> {
        self.entries().map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect()).unwrap_or_default()
    }

    pub fn from_string_map(m: &BTreeMap<String, String>) -> Value {
        Value::Map(m.iter().map(|(k, v)| (k.clone(), Value::string(v.clone()))).collect())
    }

    // ---- msgpack ----

    pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
        let mut rd = bytes;
        let raw = rmpv::decode::read_value(&mut rd).map_err(|e| DecodeError(format!("msgpack: {e}")))?;
        from_rmpv(raw, ty, &mut Vec::new())
    }

    pub fn to_msgpack(&self, ty: &Type) -> Vec<u8> {
        let raw = to_rmpv(self, ty);
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &raw).expect("writing to a Vec cannot fail");
        out
    }

    // ---- JSON (stored state) ----

    pub fn from_json(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
        let raw: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| DecodeError(format!("state JSON: {e}")))?;
        from_json_value(raw, ty, &mut Vec::new())
    }
}

fn where_(path: &[String]) -> String {
    if path.is_empty() {
        "the value".into()
    } else {
        path.join(".")
    }
}

fn from_rmpv(raw: rmpv::Value, ty: &Type, path: &mut Vec<String>) -> Result<Value, DecodeError> {
    use rmpv::Value as R;
    let bad = |what: &str, path: &Vec<String>| DecodeError(format!("{}: expected {what}", where_(path)));
    Ok(match (raw, ty) {
        (R::Nil, _) => Value::Null,
        // cty writes unknown values (with or without refinements) as extensions.
        (R::Ext(_, _), _) => Value::Unknown,
        (R::Boolean(b), Type::Bool) => Value::Bool(b),
        (R::Integer(i), Type::Number) => Value::Number(i.as_f64().ok_or_else(|| bad("number", path))?),
        (R::F32(f), Type::Number) => Value::Number(f as f64),
        (R::F64(f), Type::Number) => Value::Number(f),
        // cty sends numbers it cannot fit in a float64 as strings.
        (R::String(s), Type::Number) => Value::Number(s.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| bad("number", path))?),
        (R::String(s), Type::String) => Value::String(s.into_str().ok_or_else(|| bad("UTF-8 string", path))?),
        (R::Array(items), Type::List(el)) | (R::Array(items), Type::Set(el)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.into_iter().enumerate() {
                path.push(i.to_string());
                out.push(from_rmpv(it, el, path)?);
                path.pop();
            }
            if matches!(ty, Type::Set(_)) {
                Value::Set(out)
            } else {
                Value::List(out)
            }
        }
        (R::Map(entries), Type::Map(el)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let k = k.as_str().ok_or_else(|| bad("string map keys", path))?.to_string();
                path.push(k.clone());
                let v = from_rmpv(v, el, path)?;
                path.pop();
                out.insert(k, v);
            }
            Value::Map(out)
        }
        (R::Map(entries), Type::Object(attrs)) => {
            let mut out: BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, v) in entries {
                let k = k.as_str().ok_or_else(|| bad("string attribute names", path))?.to_string();
                let Some(aty) = attrs.get(&k) else {
                    return Err(DecodeError(format!("{}: unsupported attribute {k:?}", where_(path))));
                };
                path.push(k.clone());
                let v = from_rmpv(v, aty, path)?;
                path.pop();
                out.insert(k, v);
            }
            Value::Object(out)
        }
        (_, ty) => return Err(bad(&ty.describe(), path)),
    })
}

fn to_rmpv(v: &Value, ty: &Type) -> rmpv::Value {
    use rmpv::Value as R;
    match (v, ty) {
        (Value::Null, _) => R::Nil,
        (Value::Unknown, _) => R::Ext(0, vec![0]),
        (Value::Bool(b), _) => R::Boolean(*b),
        (Value::Number(n), _) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                R::from(*n as i64)
            } else {
                R::F64(*n)
            }
        }
        (Value::String(s), _) => R::String(s.clone().into()),
        (Value::List(items), Type::List(el))
        | (Value::Set(items), Type::Set(el))
        | (Value::List(items), Type::Set(el))
        | (Value::Set(items), Type::List(el)) => R::Array(items.iter().map(|i| to_rmpv(i, el)).collect()),
        (Value::Map(m), Type::Map(el)) | (Value::Object(m), Type::Map(el)) => {
            R::Map(m.iter().map(|(k, v)| (R::String(k.clone().into()), to_rmpv(v, el))).collect())
        }
        (Value::Object(m), Type::Object(attrs)) | (Value::Map(m), Type::Object(attrs)) => R::Map(
            attrs.iter().map(|(k, aty)| (R::String(k.clone().into()), m.get(k).map(|v| to_rmpv(v, aty)).unwrap_or(R::Nil))).collect(),
        ),
        // A value that does not fit its type is a provider bug; null is the
        // least harmful thing to send and Terraform will report the mismatch.
        _ => R::Nil,
    }
}

fn from_json_value(raw: serde_json::Value, ty: &Type, path: &mut Vec<String>) -> Result<Value, DecodeError> {
    use serde_json::Value as J;
    let bad = |what: &str, path: &Vec<String>| DecodeError(format!("{}: expected {what}", where_(path)));
    Ok(match (raw, ty) {
        (J::Null, _) => Value::Null,
        (J::Bool(b), Type::Bool) => Value::Bool(b),
        (J::Number(n), Type::Number) => Value::Number(n.as_f64().ok_or_else(|| bad("number", path))?),
        (J::String(s), Type::Number) => Value::Number(s.parse().map_err(|_| bad("number", path))?),
        (J::String(s), Type::String) => Value::String(s),
        (J::Array(items), Type::List(el)) | (J::Array(items), Type::Set(el)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.into_iter().enumerate() {
                path.push(i.to_string());
                out.push(from_json_value(it, el, path)?);
                path.pop();
            }
            if matches!(ty, Type::Set(_)) {
                Value::Set(out)
            } else {
                Value::List(out)
            }
        }
        (J::Object(entries), Type::Map(el)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                path.push(k.clone());
                out.insert(k, from_json_value(v, el, path)?);
                path.pop();
            }
            Value::Map(out)
        }
        (J::Object(entries), Type::Object(attrs)) => {
            let mut out: BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, v) in entries {
                // Attributes that a newer or older schema had are dropped
                // rather than failing the upgrade of stored state.
                let Some(aty) = attrs.get(&k) else { continue };
                path.push(k.clone());
                let v = from_json_value(v, aty, path)?;
                path.pop();
                out.insert(k, v);
            }
            Value::Object(out)
        }
        (_, ty) => return Err(bad(&ty.describe(), path)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty() -> Type {
        Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("on", Type::Bool),
            ("ids", Type::Set(Box::new(Type::String))),
            ("tags", Type::Map(Box::new(Type::String))),
            ("inner", Type::List(Box::new(Type::object([("x", Type::String)])))),
        ])
    }

    #[test]
    fn msgpack_round_trip_keeps_types_and_unknowns() {
        let v = Value::object([
            ("name", Value::string("a")),
            ("count", Value::Number(3.0)),
            ("on", Value::Unknown),
            ("ids", Value::Set(vec![Value::string("s1"), Value::string("s2")])),
            ("tags", Value::Map([("k".to_string(), Value::string("v"))].into())),
            ("inner", Value::List(vec![Value::object([("x", Value::Null)])])),
        ]);
        let bytes = v.to_msgpack(&ty());
        assert_eq!(Value::from_msgpack(&bytes, &ty()).unwrap(), v);
    }

    #[test]
    fn encoding_fills_absent_attributes_with_null() {
        let v = Value::object([("name", Value::string("a"))]);
        let back = Value::from_msgpack(&v.to_msgpack(&ty()), &ty()).unwrap();
        assert_eq!(back.get("count"), &Value::Null);
        assert_eq!(back.entries().unwrap().len(), 6);
    }

    #[test]
    fn unknown_is_cty_extension_zero() {
        assert_eq!(Value::Unknown.to_msgpack(&Type::String), vec![0xd4, 0, 0]);
    }

    #[test]
    fn json_state_decodes_by_schema_and_drops_removed_attributes() {
        let json = br#"{"name":"a","count":2,"gone":"x","ids":["b"],"tags":{"k":"v"},"inner":null}"#;
        let v = Value::from_json(json, &ty()).unwrap();
        assert_eq!(v.get("count"), &Value::Number(2.0));
        assert_eq!(v.get("ids"), &Value::Set(vec![Value::string("b")]));
        assert_eq!(v.get("gone"), &Value::Null);
    }

    #[test]
    fn decode_errors_name_the_attribute() {
        let v = Value::object([("count", Value::string("x"))]);
        let wrong = Type::object([("count", Type::Bool)]);
        let err = Value::from_msgpack(&v.to_msgpack(&Type::object([("count", Type::String)])), &wrong).unwrap_err();
        assert!(err.0.contains("count"), "{err}");
    }

    #[test]
    fn sets_compare_without_order() {
        let a = Value::Set(vec![Value::string("x"), Value::string("y")]);
        let b = Value::Set(vec![Value::string("y"), Value::string("x")]);
        assert_eq!(a, b);
        assert_ne!(Value::List(vec![Value::string("x"), Value::string("y")]), Value::List(vec![Value::string("y"), Value::string("x")]));
        assert_ne!(a, Value::Set(vec![Value::string("x"), Value::string("x")]));
    }
}
